"""The drift heat map on a charter's page: inputs × windows, coloured by level, linked to details.

The workspace of :mod:`tests.dashboard.test_decision_page`, with a fourth week whose ``amount``
is shifted by +40 (uniform on [40, 140] against a reference on [0, 100]): PSI far above the
breach level 0.25 for ``amount`` that week, while ``channel`` stays below the warn level 0.1 in
every week. Each cell shows the value stored for its window and links to a details row with the
method, the value and both levels.
"""

from __future__ import annotations

import re
from datetime import timedelta

from tests.dashboard.test_decision_page import Waiting, mkit, model_file, waiting
from tests.dashboard.test_sessions_http import sign_in

from charter.monitoring.service import stored_windows

__all__ = ["mkit", "model_file", "waiting"]


def _cell(html: str, feature: str, window: str) -> tuple[str, str, str]:
    """(status, href, text) of one heat-map cell."""
    body = html.split('data-testid="drift-map"', 1)[1].split("</table>", 1)[0]
    row = body.split(f'data-feature="{feature}"', 1)[1].split("</tr>", 1)[0]
    found = re.search(
        rf'data-window="{window}" data-status="([a-z_]+)"><a href="#([^"]+)"[^>]*>([^<]*)<', row
    )
    assert found, f"no cell for {feature} in {window}"
    return found.group(1), found.group(2), found.group(3)


def _detail(html: str, anchor: str) -> list[str]:
    row = html.split(f'id="{anchor}"', 1)[1].split("</tr>", 1)[0]
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
    shifted, href, text = _cell(page.text, "amount", weeks[3])
    assert shifted == "breach" and stored[weeks[3]]["amount"]["psi"]["value"] > 0.25
    assert text == f"{stored[weeks[3]]['amount']['psi']['value']:.2f}"
    assert [_cell(page.text, "amount", w)[0] for w in weeks[:3]] == ["pass"] * 3
    assert [_cell(page.text, "channel", w)[0] for w in weeks] == ["pass"] * 4
    detail = _detail(page.text, href)
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
