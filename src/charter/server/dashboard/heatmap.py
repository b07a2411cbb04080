"""The drift heat map and its details table, written as HTML in Python (no template loop).

A year of daily windows with 30 inputs is hundreds of cells and rows: a Jinja loop spends most
of a charter page's time on them, one filter and ``urlencode`` per cell. Here each cell is one
f-string, every text taken from data is escaped (:func:`html.escape`), each link's query is
encoded once per window, not once per cell.

- :func:`heat_table`: the map itself, a data table (inputs × windows, the value in each cell,
  its level written for screen readers, the colour only an extra), each cell a link to the
  histogram of that input in that window against the reference;
- :func:`details_table`: every cell's numbers, window by window (the method judged, both levels,
  the other methods, the window's summary of the input), on its own page.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from charter.server.dashboard.pages import DriftCell, DriftMap


def _num(value: Any) -> str:
    return (
        f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else "n/a"
    )


def _level(value: float | None) -> str:
    return "" if value is None else escape(str(value))


def heat_table(name: str, m: DriftMap) -> Markup:
    """The heat map of ``m`` for the charter ``name`` (``data-testid="drift-map"``)."""
    base = f"/charters/{quote(name, safe='')}/drift/{quote(m.version, safe='')}/"
    queries = [f"?window={quote(start, safe='')}" for start in m.starts]
    windows = [escape(w) for w in m.windows]
    out = [
        '<table class="heat" data-testid="drift-map">',
        f"<caption>Drift by input and window (version {escape(m.version)})</caption>",
        '<thead><tr><th scope="col">input</th>',
        *(f'<th scope="col">{w}</th>' for w in windows),
        "</tr></thead><tbody>",
    ]
    for f in m.features:
        feature = escape(f)
        link = base + quote(f, safe="")
        out.append(f'<tr data-feature="{feature}"><th scope="row">{feature}</th>')
        for i, c in enumerate(m.cells[f]):
            shown = "n/a" if c.value is None else f"{c.value:.2f}"
            status = escape(c.status)
            method = "" if c.value is None else f" ({escape(c.method or '')})"
            out.append(
                f'<td class="heat-{status}" data-window="{windows[i]}" data-status="{status}">'
                f'<a href="{link}{escape(queries[i])}">{shown}<span class="sr-only">: {feature} in '
                f"the window of {windows[i]}, {status}{method}</span></a></td>"
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    return Markup("".join(out))


_HEAD = (
    "window",
    "input",
    "method judged",
    "value",
    "warn at",
    "breach at",
    "level",
    "other methods",
    "this window",
)


def _details_row(c: DriftCell) -> str:
    others = "; ".join(
        f"{escape(n)} {_num(v)}" + (f" (p {_num(p)})" if p is not None else "")
        for n, v, p in c.others
    )
    stats = "; ".join(
        f"{escape(k)} {_num(v) if isinstance(v, int | float) else escape(str(v))}"
        for k, v in c.stats.items()
    )
    window, feature, status = escape(c.window), escape(c.feature), escape(c.status)
    return (
        f'<tr id="{c.anchor}" data-window="{window}" data-feature="{feature}"><td>{window}</td>'
        f"<td>{feature}</td><td>{escape(c.method or 'none')}</td><td>{_num(c.value)}</td>"
        f"<td>{_level(c.warn)}</td><td>{_level(c.breach)}</td>"
        f'<td class="heat-{status}">{status}</td><td>{others}</td><td>{stats}</td></tr>'
    )


def details_table(m: DriftMap) -> Markup:
    """Every cell of ``m``'s map, window by window (``data-testid="drift-details"``)."""
    head = "".join(f'<th scope="col">{h}</th>' for h in _HEAD)
    return Markup(
        f'<table data-testid="drift-details"><caption>Drift details of version '
        f"{escape(m.version)}, window by window</caption><thead><tr>{head}</tr></thead><tbody>"
        + "".join(_details_row(c) for c in m.details)
        + "</tbody></table>"
    )
