"""The drift heat map on a charter's page: inputs × windows, coloured by level, linked to details.

The workspace of :mod:`tests.dashboard.test_decision_page`, with a fourth week whose ``amount``
is shifted by +40 (uniform on [40, 140] against a reference on [0, 100]): PSI far above the
breach level 0.25 for ``amount`` that week, while ``channel`` stays below the warn level 0.1 in
every week. Each cell shows the value stored for its window and links to its histogram; the
drift details page has a row per cell with the method, the value and both levels.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote

import numpy as np
import polars as pl
from tests.dashboard.test_decision_page import Waiting, mkit, model_file, waiting
from tests.dashboard.test_sessions_http import sign_in

from charter.monitoring.service import stored_windows

__all__ = ["mkit", "model_file", "waiting"]


def _cell(html: str, feature: str, window: str) -> tuple[str, str, str]:
    """(status, href, text) of one heat-map cell."""
    body = html.split('data-testid="drift-map"', 1)[1].split("</table>", 1)[0]
    row = body.split(f'data-feature="{feature}"', 1)[1].split("</tr>", 1)[0]
    found = re.search(
        rf'data-window="{window}" data-status="([a-z_]+)"><a href="([^"]+)"[^>]*>([^<]*)<', row
    )
    assert found, f"no cell for {feature} in {window}"
    return found.group(1), found.group(2), found.group(3)


def _detail(html: str, window: str, feature: str) -> list[str]:
    table = html.split('data-testid="drift-details"', 1)[1]
    row = table.split(f'data-window="{window}" data-feature="{feature}"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", row)]


def test_the_heat_map_colours_each_input_and_window_by_its_drift_level(waiting: Waiting) -> None:
    waiting.week(3, shift=40.0)
    page = sign_in(waiting.client, waiting.tokens["viewer"]).get(f"/charters/{waiting.kit.name}")
    weeks = [f"{waiting.kit.week0 + timedelta(days=7 * i):%Y-%m-%d}" for i in range(4)]
    stored = {
        f"{w.start:%Y-%m-%d}": w.data["drift"]
        for w in stored_windows(waiting.kit.ws, waiting.kit.name)
        if w.version == "1"
    }

    assert page.status_code == 200
    assert "Drift by input and window (version 1)" in page.text
    shifted, _href, text = _cell(page.text, "amount", weeks[3])
    assert shifted == "breach" and stored[weeks[3]]["amount"]["psi"]["value"] > 0.25
    assert text == f"{stored[weeks[3]]['amount']['psi']['value']:.2f}"
    assert [_cell(page.text, "amount", w)[0] for w in weeks[:3]] == ["pass"] * 3
    assert [_cell(page.text, "channel", w)[0] for w in weeks] == ["pass"] * 4
    assert 'data-testid="drift-details"' not in page.text  # on its own page, linked
    assert (
        f'href="/charters/{waiting.kit.name}/drift" data-testid="drift-details-link"' in page.text
    )
    details = waiting.client.get(f"/charters/{waiting.kit.name}/drift")
    assert details.status_code == 200
    assert "Drift details of version 1, window by window" in details.text
    detail = _detail(details.text, weeks[3], "amount")
    # window, input, method, value, warn at, breach at, level, other methods, this window
    assert detail[:3] == [weeks[3], "amount", "psi"]
    assert detail[3] == f"{stored[weeks[3]]['amount']['psi']['value']:.3f}"
    assert detail[4:7] == ["0.1", "0.25", "breach"]
    assert "ks " in detail[7] and "mean " in detail[8]
    assert 'data-feature="model score"' in page.text


def test_before_any_window_the_page_says_no_drift_yet(waiting: Waiting) -> None:
    other = waiting.kit.named("second")
    other.write_charter()

    page = sign_in(waiting.client, waiting.tokens["viewer"]).get("/charters/second")

    assert page.status_code == 200
    assert "No drift measured yet" in page.text and 'data-testid="drift-map"' not in page.text
    details = waiting.client.get("/charters/second/drift")
    assert details.status_code == 200 and "No drift measured yet" in details.text
    assert 'data-testid="drift-details"' not in details.text


def _histogram(html: str) -> list[tuple[str, int, int]]:
    """(range, reference rows, window rows) of each bin of the histogram table."""
    body = html.split('data-testid="histogram"', 1)[1].split("</table>", 1)[0]
    out = []
    for row in re.findall(r"<tr data-bin=.*?</tr>", body):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>.*?</td>", row)]
        out.append((cells[0], int(cells[2]), int(cells[4])))
    return out


def test_a_cell_opens_the_histogram_of_its_input_against_the_reference(waiting: Waiting) -> None:
    waiting.week(3, shift=40.0)
    client = sign_in(waiting.client, waiting.tokens["viewer"])
    week3 = waiting.kit.week0 + timedelta(days=21)
    _, href, _ = _cell(
        client.get(f"/charters/{waiting.kit.name}").text, "amount", f"{week3:%Y-%m-%d}"
    )
    shifted = waiting.kit.world(500, 93, start=week3)["amount"].to_numpy() + 40.0
    reference = pl.read_parquet(waiting.kit.ws.root / "reference-2.parquet")["amount"].to_numpy()
    lo, hi = float(reference.min()), float(reference.max())

    page = client.get(html.unescape(href))

    assert page.status_code == 200, page.text
    assert "amount in the window of " + f"{week3:%Y-%m-%d}" in page.text
    bins = _histogram(page.text)
    assert len(bins) == 22  # below the reference's range, 20 equal bins, above it
    assert sum(b[1] for b in bins) == reference.size and sum(b[2] for b in bins) == shifted.size
    assert bins[0][1:] == (0, 0)
    assert bins[-1][1:] == (0, int((shifted > hi).sum()))  # exact: the summaries' own outer bin
    expected_ref, _ = np.histogram(reference, bins=20, range=(lo, hi))
    expected_cur, _ = np.histogram(shifted[shifted <= hi], bins=20, range=(lo, hi))
    # inner bins regroup the fine quantile bins (~3 reference rows each) by their midpoints
    assert np.abs(np.array([b[1] for b in bins[1:-1]]) - expected_ref).max() <= 8
    assert np.abs(np.array([b[2] for b in bins[1:-1]]) - expected_cur).max() <= 8
    psi = next(
        w.data["drift"]["amount"]["psi"]["value"]
        for w in stored_windows(waiting.kit.ws, waiting.kit.name)
        if w.version == "1" and w.start == week3
    )
    assert f"<td>psi (judged)</td><td>{psi:.3f}</td>" in page.text


def test_the_score_has_a_histogram_and_an_unknown_input_is_refused(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["viewer"])
    start = quote(f"{waiting.kit.week0.isoformat()}", safe="")
    base = f"/charters/{waiting.kit.name}/drift/1"

    score = client.get(f"{base}/model%20score?window={start}")
    unknown = client.get(f"{base}/salary?window={start}")
    no_window = client.get(f"{base}/amount?window=2020-01-01T00:00:00%2B00:00")

    assert score.status_code == 200 and "model score in the window of" in score.text
    assert sum(b[2] for b in _histogram(score.text)) == 500
    assert (
        unknown.status_code == 400 and "&#39;salary&#39; is not a monitored input" in unknown.text
    )
    assert no_window.status_code == 400 and "has no stored window starting" in no_window.text


def test_the_details_page_lists_every_cell_of_the_map_once(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["viewer"])
    page = client.get(f"/charters/{waiting.kit.name}").text
    body = page.split('data-testid="drift-map"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<tr data-feature="([^"]+)">|data-window="([^"]+)" data-status=', body)
    mapped, feature = [], None
    for row, window in cells:
        feature = row or feature
        if window:
            mapped.append((window, feature))

    details = client.get(f"/charters/{waiting.kit.name}/drift").text
    table = details.split('data-testid="drift-details"', 1)[1].split("</table>", 1)[0]
    listed = re.findall(
        r'<tr id="drift-v1-w\d+-f\d+" data-window="([^"]+)" data-feature="([^"]+)"', table
    )

    assert len(mapped) >= 2 * 3 and len(set(listed)) == len(listed)
    assert sorted(listed) == sorted(mapped)  # every cell of the map, each once, nothing else
    assert 'aria-current="page">Drift details</a>' in details
