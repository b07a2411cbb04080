"""``services.charters.check_charters``: every charter file judged, one result each."""

from __future__ import annotations

import pytest

from charter.errors import CharterError
from charter.services.charters import check_charters
from charter.workspace import Workspace


def test_every_charter_is_judged_and_a_bad_one_says_where(ws: Workspace) -> None:
    (ws.charters_dir / "broken.yaml").write_text("name: broken\ntask: guessing\n")

    results = {r.name: r for r in check_charters(ws)}

    assert results["credit-default"].ok and results["credit-default"].problems == []
    assert not results["broken"].ok
    assert any("task" in problem for problem in results["broken"].problems)
    assert [r.name for r in check_charters(ws, "credit-default")] == ["credit-default"]


def test_a_workspace_without_charters_is_refused(tmp_path: object) -> None:
    with pytest.raises(CharterError, match="no charters in"):
        check_charters(Workspace(str(tmp_path)))
