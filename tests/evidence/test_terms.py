"""Undoing a field-level diff gives back the earlier charter's fields (the text may be gone)."""

from __future__ import annotations

import copy
from typing import Any

from charter.evidence.terms import undo
from charter.governance.diff import field_diff

OLD: dict[str, Any] = {
    "owner": {"email": "dana@bank.example"},
    "sufficiency": {"metrics": [{"metric": "roc_auc", "at_least": 0.7}]},
    "operations": {"promotion": {"approval": "owner"}},
}


def test_undoing_the_diff_of_any_edit_gives_the_old_fields_back() -> None:
    new = copy.deepcopy(OLD)
    new["owner"]["email"] = "lee@bank.example"  # changed
    new["sufficiency"]["metrics"].append({"metric": "recall", "at_least": 0.5})  # appended
    del new["operations"]["promotion"]  # removed
    new["operations"]["retention"] = {"predictions": "400d"}  # added
    diff = [c.to_dict() for c in field_diff(OLD, new)]

    assert undo(copy.deepcopy(new), diff) == OLD


def test_a_list_shortened_by_the_edit_grows_back() -> None:
    new = copy.deepcopy(OLD)
    new["sufficiency"]["metrics"] = []
    diff = [c.to_dict() for c in field_diff(OLD, new)]
    assert undo(copy.deepcopy(new), diff) == OLD
