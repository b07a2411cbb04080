"""Charts drawn on the server as inline SVG: bars for the sub-pages, lines of every version
against the owner's bands for a charter's page.

Like the line charts of :mod:`charter.monitoring.report`, a chart is a picture only: the page
puts its numbers in a table beside it, and the SVG carries a text alternative (``role="img"``,
``aria-label``) saying what it shows. Every text taken from data is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from charter.monitoring.report import COLORS, Band, Chart, Series

PALETTE = ("#1565c0", "#c62828", "#ef8f00", "#6a1b9a", "#00838f", "#558b2f", "#4e342e")


@dataclass(frozen=True)
class Bars:
    """One series of bars: a value per label (None: nothing to draw there)."""

    name: str
    values: Sequence[float | None]
    color: str


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _tick(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Bars],
    *,
    stacked: bool = False,
    width: int = 640,
    height: int = 240,
) -> str:
    """Bars per label: side by side per series, or ``stacked`` one on another."""
    left, right, top, bottom = 52, 12, 24, 56
    w, h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def stack(i: int) -> float:
        found = [s.values[i] or 0.0 for s in series if i < len(s.values)]
        return sum(found) if stacked else max(found, default=0.0)

    hi = max((stack(i) for i in range(len(labels))), default=0.0) or 1.0
    slot = w / n
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{_esc(title)} (the numbers are in the table)">',
        f'<text x="{left}" y="15" font-size="13" font-weight="bold">{_esc(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>',
    ]
    for k in range(5):
        v = hi * k / 4
        y = top + h * (1 - k / 4)
        out.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{_tick(v)}</text>"
        )
    every = max(1, math.ceil(n / 8))
    for i, label in enumerate(labels):
        base: float = top + h
        if stacked:
            bar_w, offsets = slot * 0.7, [0.0] * len(series)
        else:
            bar_w = slot * 0.8 / max(len(series), 1)
            offsets = [j * bar_w for j in range(len(series))]
        x0 = left + slot * i + slot * (0.15 if stacked else 0.1)
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if not value:
                continue
            bar_h = h * value / hi
            y = base - bar_h
            out.append(
                f'<rect x="{x0 + offsets[j]:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{bar_h:.1f}" fill="{s.color}"><title>{_esc(label)}, {_esc(s.name)}: '
                f"{value:g}</title></rect>"
            )
            if stacked:
                base = y
        if i % every == 0:
            out.append(
                f'<text x="{left + slot * (i + 0.5):.1f}" y="{top + h + 14}" font-size="10" '
                f'text-anchor="middle">{_esc(label)}</text>'
            )
    out.append(_legend(series, left, top + h + 34))
    out.append("</svg>")
    return "".join(out)


def _legend(series: Sequence[Bars], left: int, baseline: int) -> str:
    parts, cursor = [], left
    for s in series:
        parts.append(
            f'<rect x="{cursor}" y="{baseline - 9}" width="10" height="10" fill="{s.color}"/>'
            f'<text x="{cursor + 14}" y="{baseline}" font-size="10">{_esc(s.name)}</text>'
        )
        cursor += 24 + 6 * len(s.name)
    return "".join(parts)


def bands_for(at_least: float | None, at_most: float | None, warn_at: float | None) -> list[Band]:
    """The owner's pass / warn / breach bands of one rule (unbounded ends are ±inf).

    ``at_least`` t (warn below w): breach under t, warn from t to w, pass above; ``at_most``
    mirrors it. A rule without ``warn_at`` has no warn band.
    """
    inf = math.inf
    if at_least is not None:
        edge = warn_at if warn_at is not None and warn_at > at_least else at_least
        found = [Band("breach", -inf, at_least, COLORS["breach"])]
        found += [Band("warn", at_least, edge, COLORS["warn"])] if edge != at_least else []
        return [*found, Band("pass", edge, inf, COLORS["pass"])]
    if at_most is None:
        return []
    edge = warn_at if warn_at is not None and warn_at < at_most else at_most
    found = [Band("pass", -inf, edge, COLORS["pass"])]
    found += [Band("warn", edge, at_most, COLORS["warn"])] if edge != at_most else []
    return [*found, Band("breach", at_most, inf, COLORS["breach"])]


def versions_chart(
    title: str, labels: Sequence[str], lines: Sequence[Series], bands: Sequence[Band]
) -> str:
    """One line per version over the same windows, over the owner's shaded bands (drawn by the
    report's line chart, so both look alike)."""
    chart = Chart(title, labels, list(lines), bands=list(bands), width=640, height=250)
    return chart.svg()
