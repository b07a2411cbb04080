"""The contract rules' intermediate representation: one rule per contract setting, in order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from charter.engines.base import engine_for
from charter.engines.rules import (
    VIOLATIONS,
    BatchRule,
    BatchRuleKind,
    RowRule,
    RowRuleKind,
    contract_rules,
)
from charter.spec.model import DataContract

EVERY_RULE: dict[str, Any] = {
    "source": {"kind": "parquet_dir", "path": "landing"},
    "key": "id",
    "event_time": "at",
    "freshness": {"max_age": "1d"},
    "volume": {"min_rows": 1, "max_rows": 100},
    "fields": {
        "id": {"type": "int"},
        "income": {"type": "float", "nullable": False, "min": 0, "max": 10},
        "code": {"type": "string", "allowed": ["a", "b"], "pattern": "[ab]", "unique": True},
        "note": {"type": "string", "max_null_fraction": 0.5, "required": False},
    },
}


def test_every_contract_setting_becomes_one_typed_rule_in_report_order() -> None:
    rules = contract_rules(DataContract.model_validate(EVERY_RULE))
    assert rules.key == "id" and rules.event_time == "at"
    assert [c.column for c in rules.columns] == ["id", "income", "code", "note", "at"]
    income = rules.columns[1]
    assert income.rules == (
        RowRule("income", RowRuleKind.MISSING, "float"),
        RowRule("income", RowRuleKind.TYPE, "float"),
        RowRule("income", RowRuleKind.NOT_NULL, "float"),
        RowRule("income", RowRuleKind.MIN, "float", bound=0.0),
        RowRule("income", RowRuleKind.MAX, "float", bound=10.0),
    )
    code = rules.column("code")
    assert code is not None
    assert [r.name for r in code.rules] == [
        "code.missing",
        "code.type",
        "code.allowed",
        "code.pattern",
        "code.unique",
        "code.unique_across_batches",
    ]
    assert code.of(RowRuleKind.ALLOWED) == RowRule(
        "code", RowRuleKind.ALLOWED, "string", allowed=("a", "b")
    )
    assert code.of(RowRuleKind.PATTERN) == RowRule(
        "code", RowRuleKind.PATTERN, "string", pattern="[ab]"
    )
    # The key is unique without saying so; an untyped column (the event time) has no type rule.
    assert [r.kind for r in rules.columns[0].rules][-2:] == [
        RowRuleKind.UNIQUE,
        RowRuleKind.UNIQUE_ACROSS_BATCHES,
    ]
    assert [r.kind for r in rules.columns[4].rules] == [RowRuleKind.MISSING]
    assert rules.columns[3].required is False and rules.columns[4].required is True
    assert rules.batch == (
        BatchRule(BatchRuleKind.MIN_ROWS, 1),
        BatchRule(BatchRuleKind.MAX_ROWS, 100),
        BatchRule(BatchRuleKind.MAX_NULL_FRACTION, 0.5, "note"),
        BatchRule(BatchRuleKind.MAX_AGE, timedelta(days=1), "at"),
    )
    assert [b.name for b in rules.batch] == [
        "volume.min_rows",
        "volume.max_rows",
        "note.max_null_fraction",
        "freshness.max_age",
    ]
    kinds = {r.kind for c in rules.columns for r in c.rules}
    assert kinds == set(RowRuleKind) and {b.kind for b in rules.batch} == set(BatchRuleKind)


ONE_BROKEN_RULE_PER_ROW: dict[str, Any] = {
    "source": {"kind": "parquet_dir", "path": "landing"},
    "key": "id",
    "fields": {
        "id": {"type": "int"},
        "income": {"type": "float", "nullable": False, "min": 0, "max": 10},
        "code": {"type": "string", "allowed": ["a", "b"]},
        "tag": {"type": "string", "pattern": "t[0-9]+", "unique": True},
    },
}


def test_each_row_rule_of_the_representation_is_compiled_and_reported_by_name() -> None:
    """Row n breaks one rule; the Polars engine reports exactly that rule's name for it."""
    rules = contract_rules(DataContract.model_validate(ONE_BROKEN_RULE_PER_ROW))
    batch = pa.table(
        {
            "id": [1, 2, 3, 4, 5, 6, 7, 8, 6, 99],
            "income": ["1", "x", None, "-1", "11", "2", "2", "2", "2", "2"],
            "code": ["a", "a", "a", "a", "a", "z", "a", "a", "b", "b"],
            "tag": ["t1", "t2", "t3", "t4", "t5", "t6", "T7", "t1", "t9", "t10"],
        }
    )
    result = engine_for("polars").validate(batch, rules, seen_keys=pl.Series("id", [99]))
    by_row = result.failed.select("tag", VIOLATIONS).rows()
    assert dict(by_row) == {
        "t2": ["income.type"],
        "t3": ["income.not_null"],
        "t4": ["income.min"],
        "t5": ["income.max"],
        "t6": ["code.allowed"],
        "T7": ["tag.pattern"],
        "t1": ["tag.unique"],
        "t9": ["id.unique"],
        "t10": ["id.unique_across_batches"],
    }
    assert result.valid.get_column("tag").to_list() == ["t1"]
    assert result.violation_counts() == {
        rule: 1 for _, rules_broken in by_row for rule in rules_broken
    }


def test_a_required_column_that_is_absent_fails_every_row_as_missing() -> None:
    rules = contract_rules(DataContract.model_validate(ONE_BROKEN_RULE_PER_ROW))
    batch = pa.table({"id": [1, 2], "income": ["1", "2"], "tag": ["t1", "t2"]})
    result = engine_for("polars").validate(batch, rules)
    assert result.failed.get_column(VIOLATIONS).to_list() == [["code.missing"], ["code.missing"]]
    assert [(c.kind, c.column) for c in result.schema_changes] == [("missing_column", "code")]
