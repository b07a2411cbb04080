"""The heat map and its details table written in Python: every text taken from data escaped,
each cell linked to its input's histogram in its window."""

from __future__ import annotations

from charter.server.dashboard.heatmap import details_table, heat_table
from charter.server.dashboard.pages import DriftCell, DriftMap


def _map() -> DriftMap:
    odd = "a<b&c"
    cells = {
        odd: [
            DriftCell(odd, "2026-01-05", "drift-v1-w0-f0", "breach", "psi", 0.4, 0.1, 0.25,
                      (("ks", 0.3, 0.01),), {"mean": 1.5, "distinct": "<3>"}),
        ],
        "model score": [DriftCell("model score", "2026-01-05", "drift-v1-w0-f1", "not_computable")],
    }  # fmt: skip
    return DriftMap("1", "live", ["2026-01-05"], [odd, "model score"], cells,
                    ["2026-01-05T00:00:00+00:00"])  # fmt: skip


def test_the_map_escapes_names_and_links_each_cell_to_its_histogram() -> None:
    text = str(heat_table("credit", _map()))

    assert "a<b" not in text and 'data-feature="a&lt;b&amp;c"' in text
    assert (
        'href="/charters/credit/drift/1/a%3Cb%26c?window=2026-01-05T00%3A00%3A00%2B00%3A00"' in text
    )
    assert 'data-status="breach"><a href=' in text and ">0.40<" in text
    assert ": a&lt;b&amp;c in the window of 2026-01-05, breach (psi)</span>" in text
    assert 'href="/charters/credit/drift/1/model%20score?' in text and ">n/a<" in text


def test_the_details_table_has_a_row_per_cell_with_its_numbers() -> None:
    text = str(details_table(_map()))

    assert text.count("<tr id=") == 2 and "<3>" not in text
    assert (
        '<tr id="drift-v1-w0-f0" data-window="2026-01-05" data-feature="a&lt;b&amp;c">'
        "<td>2026-01-05</td><td>a&lt;b&amp;c</td><td>psi</td><td>0.400</td><td>0.1</td>"
        '<td>0.25</td><td class="heat-breach">breach</td><td>ks 0.300 (p 0.010)</td>'
        "<td>mean 1.500; distinct &lt;3&gt;</td></tr>"
    ) in text
    assert "<td>none</td><td>n/a</td><td></td><td></td>" in text
