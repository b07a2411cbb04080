"""``charter report NAME --html FILE``: one self-contained HTML page of the stored windows.

The page must open anywhere an owner or an auditor opens it: from an email attachment, on an
air-gapped machine, years later. So it is a single file with inline CSS and charts drawn here as
inline SVG: no JavaScript, no CDN, no fonts or images fetched. Every text taken from data is
HTML-escaped.

Per version (newest first): the latest verdict and rules; for each sufficiency rule, the realized
metric over time with the estimated one (dashed, with its band) against the owner's threshold
and warn level; the judged drift of each input and of the score over time against the warn and
breach levels; and a data-quality table per window.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charter.monitoring.service import WindowResult, stored_windows
from charter.spec.model import Charter
from charter.spec.windows import window_text
from charter.workspace import Workspace

COLORS = {
    "pass": "#2e7d32",
    "warn": "#ef8f00",
    "breach": "#c62828",
    "insufficient_evidence": "#78909c",
    "not_computable": "#b0bec5",
}
SERIES = ("#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#283593")
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1100px}
h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}
.muted{color:#666}.badge{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;
font-size:.85em}table{border-collapse:collapse;margin:8px 0;font-size:.85em}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}
svg{background:#fff;border:1px solid #eee}.legend{font-size:11px}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: Any, digits: int = 3) -> str:
    number = _number(value)
    if number is None:
        return "n/a" if not isinstance(value, dict) else "not computable"
    return f"{number:.{digits}f}"


def badge(status: str | None) -> str:
    status = status or "not_computable"
    color = COLORS.get(status, "#607d8b")
    return f'<span class="badge" style="background:{color}">{_esc(status)}</span>'


# -- charts -----------------------------------------------------------------------------------
@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None
    hollow: Sequence[bool] = ()  # points drawn open: shown, but not judged


@dataclass
class Level:
    name: str
    value: float
    color: str


@dataclass(frozen=True)
class Band:
    """A shaded horizontal band of the owner's levels: ``low``..``high`` is ``name`` (pass, warn,
    breach); an unbounded end is ±inf."""

    name: str
    low: float
    high: float
    color: str


@dataclass
class Chart:
    """A line chart over windows: series (with optional bands) against horizontal levels, over
    shaded ``bands``."""

    title: str
    labels: Sequence[str]
    series: list[Series] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    bounds: tuple[float, float] | None = None
    bands: list[Band] = field(default_factory=list)
    width: int = 520
    height: int = 230

    def _range(self) -> tuple[float, float]:
        if self.bounds is not None:
            return self.bounds
        values = [v for s in self.series for v in s.values if v is not None]
        values += [lv.value for lv in self.levels]
        values += [x for b in self.bands for x in (b.low, b.high) if math.isfinite(x)]
        for s in self.series:
            if s.band:
                values += [v for v in (*s.band[0], *s.band[1]) if v is not None]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        pad = (hi - lo) * 0.1 or abs(hi) * 0.1 or 1.0
        # Drift values and most metrics are never negative: do not pad below zero.
        return (lo - pad if lo - pad >= 0 or lo < 0 else 0.0), hi + pad

    def svg(self) -> str:
        left, right, top, bottom = 48, 12, 24, 40
        w, h = self.width - left - right, self.height - top - bottom
        lo, hi = self._range()
        n = max(len(self.labels), 1)

        def x(i: int) -> float:
            return left + (w * (i + 0.5) / n)

        def y(v: float) -> float:
            return top + h * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{self.height}" role="img" aria-label="{_esc(self.title)}">',
            f'<text x="{left}" y="15" font-size="13" font-weight="bold">{_esc(self.title)}</text>',
        ]
        for band in self.bands:
            y0, y1 = y(band.high), y(band.low)
            if y1 - y0 > 0:
                out.append(
                    f'<rect x="{left}" y="{y0:.1f}" width="{w}" height="{y1 - y0:.1f}" '
                    f'fill="{band.color}" opacity="0.12" data-band="{_esc(band.name)}"/>'
                    f'<text x="{left + w - 4}" y="{y0 + 11:.1f}" font-size="10" '
                    f'text-anchor="end" fill="{band.color}">{_esc(band.name)}</text>'
                )
        out.append(
            f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
        )
        for k in range(5):
            v = lo + (hi - lo) * k / 4
            out.append(
                f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">'
                f"{v:.2f}</text>"
            )
        every = max(1, math.ceil(n / 8))
        for i, label in enumerate(self.labels):
            if i % every == 0:
                out.append(
                    f'<text x="{x(i):.1f}" y="{top + h + 14}" font-size="10" '
                    f'text-anchor="middle">{_esc(label)}</text>'
                )
        for level in self.levels:
            out.append(
                f'<line x1="{left}" x2="{left + w}" y1="{y(level.value):.1f}" '
                f'y2="{y(level.value):.1f}" stroke="{level.color}" stroke-dasharray="6 3"/>'
            )
        for s in self.series:
            out += _series_svg(s, x, y)
        out.append(self._legend(left, top + h + 30))
        out.append("</svg>")
        return "".join(out)

    def _legend(self, left: int, baseline: int) -> str:
        items = [(s.name, s.color, s.dashed) for s in self.series]
        items += [(lv.name, lv.color, True) for lv in self.levels]
        parts, cursor = [], left
        for name, color, dashed in items:
            dash = ' stroke-dasharray="4 2"' if dashed else ""
            parts.append(
                f'<line x1="{cursor}" x2="{cursor + 16}" y1="{baseline - 4}" y2="{baseline - 4}" '
                f'stroke="{color}" stroke-width="2"{dash}/>'
                f'<text class="legend" x="{cursor + 20}" y="{baseline}" font-size="10">'
                f"{_esc(name)}</text>"
            )
            cursor += 28 + 6 * len(name)
        return "".join(parts)


def _series_svg(s: Series, x: Any, y: Any) -> list[str]:
    out = []
    if s.band is not None:
        lower, upper = s.band
        for i, (a, b) in enumerate(zip(lower, upper, strict=True)):
            if a is not None and b is not None:
                out.append(
                    f'<rect x="{x(i) - 5:.1f}" y="{y(b):.1f}" width="10" '
                    f'height="{max(y(a) - y(b), 1):.1f}" fill="{s.color}" opacity="0.18"/>'
                )
    dash = ' stroke-dasharray="5 3"' if s.dashed else ""
    run: list[str] = []
    for i, v in enumerate([*s.values, None]):
        if v is not None:
            run.append(f"{x(i):.1f},{y(v):.1f}")
            continue
        if len(run) > 1:
            out.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{s.color}" '
                f'stroke-width="2"{dash}/>'
            )
        run = []
    for i, v in enumerate(s.values):
        if v is not None:
            hollow = s.dashed or (i < len(s.hollow) and s.hollow[i])
            fill = "#fff" if hollow else s.color
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{fill}" stroke="{s.color}">'
                f"<title>{_esc(s.name)}: {v:.4f}</title></circle>"
            )
    return out


# -- sections ---------------------------------------------------------------------------------
def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _label(result: WindowResult) -> str:
    return result.start.strftime("%Y-%m-%d")


def rule_chart(windows: Sequence[WindowResult], index: int) -> str:
    """The ``index``-th rule's realized and estimated value over windows, with its levels."""
    rule = windows[-1].data["rules"][index]
    realized, estimated, lower, upper, unjudged = [], [], [], [], []
    for w in windows:
        rules = w.data.get("rules", [])
        found = rules[index] if index < len(rules) else {}
        realized.append(_number(found.get("value")))
        unjudged.append(found.get("status") not in ("pass", "warn", "breach"))
        est = found.get("estimate") or {}
        estimated.append(_number(est.get("value")))
        lower.append(_number(est.get("lower")))
        upper.append(_number(est.get("upper")))
    segment = f" [{rule['segment']}]" if rule.get("segment") else ""
    threshold = rule.get(
        "threshold", rule["at_least"] if rule["at_least"] is not None else rule["at_most"]
    )
    chart = Chart(f"{rule['metric']}{segment}", [_label(w) for w in windows])
    chart.series.append(Series("realized", realized, SERIES[0], hollow=unjudged))
    if any(v is not None for v in estimated):
        method = "DLE" if rule["metric"] in ("mae", "rmse") else "CBPE"
        chart.series.append(
            Series(f"estimated ({method})", estimated, SERIES[1], True, (lower, upper))
        )
    chart.levels.append(Level(f"threshold {threshold}", float(threshold), COLORS["breach"]))
    if rule.get("warn_at") is not None:
        chart.levels.append(
            Level(f"warn {rule['warn_at']}", float(rule["warn_at"]), COLORS["warn"])
        )
    return chart.svg()


def drift_chart(windows: Sequence[WindowResult], column: str | None) -> str:
    """The judged drift value of an input (or of the score, ``column=None``) over windows."""
    values: list[float | None] = []
    method = warn = breach = None
    for w in windows:
        methods = w.data["score_drift"] if column is None else w.data["drift"].get(column, {})
        judged = next((m for m in methods.values() if m.get("judged")), None)
        for name, body in methods.items():
            if body.get("judged"):
                method, warn, breach = name, body.get("warn"), body.get("breach")
        values.append(None if judged is None else _number(judged.get("value")))
    chart = Chart(f"drift of {column or 'score'} ({method})", [_label(w) for w in windows])
    chart.series.append(Series(method or "drift", values, SERIES[2]))
    if warn is not None:
        chart.levels.append(Level(f"warn {warn}", float(warn), COLORS["warn"]))
    if breach is not None:
        chart.levels.append(Level(f"breach {breach}", float(breach), COLORS["breach"]))
    return chart.svg()


def _verdict_strip(windows: Sequence[WindowResult]) -> str:
    cells = "".join(
        f'<td style="background:{COLORS.get(w.verdict, "#999")};color:#fff;text-align:center" '
        f'title="{_esc(w.data["start"])}">{_esc(_label(w))}<br>{_esc(w.verdict)}</td>'
        for w in windows
    )
    return f"<table><tr>{cells}</tr></table>"


def _rules_table(latest: WindowResult) -> str:
    rows = []
    for rule in latest.data["rules"]:
        est = rule.get("estimate") or {}
        threshold = rule.get(
            "threshold", rule["at_least"] if rule["at_least"] is not None else rule["at_most"]
        )
        sign = "≥" if rule["at_least"] is not None else "≤"
        rows.append(
            f"<tr><td>{_esc(rule['metric'])} {_esc(rule.get('segment') or '')}</td>"
            f"<td>{badge(rule['status'])}</td><td>{_fmt(rule['value'])}</td>"
            f"<td>{sign} {_esc(threshold)}</td><td>{_esc(rule.get('warn_at') or '')}</td>"
            f"<td>{rule['labels']}</td><td>{_fmt(est.get('value'))} "
            f"{_esc(est.get('status') or '')}</td><td>{_esc(rule.get('reason') or '')}</td></tr>"
        )
    head = (
        "<tr><th>rule</th><th>status</th><th>realized</th><th>threshold</th><th>warn at</th>"
        "<th>labels</th><th>estimated</th><th>why</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _quality_table(windows: Sequence[WindowResult]) -> str:
    columns = sorted({c for w in windows for c in w.data["quality"]["columns"]})
    head = "<tr><th>window</th><th>rows</th><th>labelled</th><th>late</th>" + "".join(
        f"<th>{_esc(c)} nulls</th><th>{_esc(c)} out/unseen</th>" for c in columns
    )
    rows = []
    for w in windows:
        q = w.data["quality"]
        cells = [
            _esc(_label(w)),
            str(q["rows"]),
            str(w.data["labels"]["labelled"]),
            _fmt(q["late_fraction"]),
        ]
        for c in columns:
            col = q["columns"].get(c, {})
            cells.append(_fmt(col.get("null_fraction")))
            cells.append(_fmt(col.get("out_of_range_fraction", col.get("unseen_fraction"))))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table>{head}</tr>{''.join(rows)}</table>"


def _version_section(version: str, windows: Sequence[WindowResult]) -> str:
    latest = windows[-1]
    columns = sorted(latest.data["drift"])
    rules = "".join(rule_chart(windows, i) for i in range(len(latest.data["rules"])))
    drift = "".join(drift_chart(windows, c) for c in [*columns, None])
    ref = latest.data.get("reference") or {}
    ref_text = (
        f"reference: {_esc(ref.get('origin'))}, {ref.get('rows')} rows, CBPE {_esc(ref.get('cbpe'))}"
        if ref
        else "no reference: drift and estimates are not computable"
    )
    flags = "".join(f"<li>{_esc(f)}</li>" for f in latest.data.get("flags", []))
    return (
        f"<h2>version {_esc(version)} <span class='muted'>({_esc(latest.data['status'])})</span>"
        f"</h2><p>latest window {_esc(_when(latest.start))} → {_esc(_when(latest.end))}: "
        f"{badge(latest.verdict)} <span class='muted'>{ref_text}</span></p>"
        f"{_rules_table(latest)}{f'<ul>{flags}</ul>' if flags else ''}"
        f"<h3>Verdict per window</h3>{_verdict_strip(windows)}"
        f"<h3>Sufficiency rules over time</h3><p class='muted'>Open points are not judged "
        "(fewer labels than min_labels, or not computable); the estimate's band is ±3 standard "
        f"errors.</p><div class='charts'>{rules}</div>"
        f"<h3>Drift per input</h3><div class='charts'>{drift}</div>"
        f"<h3>Data quality</h3>{_quality_table(windows)}"
    )


def render_html(charter: Charter, results: Sequence[WindowResult], window: str) -> str:
    """The whole page for ``results`` (any order; grouped by version, oldest window first)."""
    by_version: dict[str, list[WindowResult]] = {}
    for r in sorted(results, key=lambda r: r.start):
        by_version.setdefault(r.version, []).append(r)
    order = sorted(by_version, key=lambda v: (not v.isdigit(), -int(v) if v.isdigit() else 0, v))
    sections = "".join(_version_section(v, by_version[v]) for v in order) or (
        f"<p>No windows yet: run <code>charter monitor {_esc(charter.name)}</code>.</p>"
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>charter report: {_esc(charter.name)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_esc(charter.name)}</h1><p>{_esc(charter.decision)}</p>"
        f"<p class='muted'>owner {_esc(charter.owner.name)} &lt;{_esc(charter.owner.email)}&gt;"
        f" · {_esc(window)} windows · min_labels {charter.sufficiency.min_labels} · "
        f"generated {generated}</p>{sections}</body></html>\n"
    )


def write_report(
    ws: Workspace, name: str, file: str | Path, *, window: str | None = None
) -> Mapping[str, Any]:
    """Write the report of ``name``'s stored windows to ``file``; return what was written."""
    charter = ws.load(name).charter
    results = stored_windows(ws, name, window=window)
    size = window or window_text(charter.sufficiency)
    path = Path(file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(charter, results, size), encoding="utf-8")
    versions = sorted({r.version for r in results})
    return {
        "charter": charter.name,
        "file": str(path),
        "windows": len(results),
        "versions": versions,
    }
