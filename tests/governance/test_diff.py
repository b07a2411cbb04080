"""The field-level diff names every changed leaf by its dotted path, old -> new."""

from __future__ import annotations

from charter.governance.diff import describe, governed_sections, text_diff

OLD = """\
name: credit-default
decision: "Approve loans"  # a comment
owner: {name: Dana, email: dana@bank.example}
sufficiency:
  window: 7d
  metrics:
    - {metric: roc_auc, at_least: 0.66}
    - {metric: recall, at_least: 0.6, segment: "region == 'north'"}
"""

NEW = """\
name: credit-default
decision: "Approve loans"  # another comment: not a change
owner: {name: Dana, email: dana@bank.example, role: Head of Credit}
sufficiency:
  window: 14d
  metrics:
    - {metric: roc_auc, at_least: 0.6}
stewards: [{name: MLP, email: mlp@bank.example}]
"""


def test_each_changed_leaf_is_named_with_its_old_and_new_value() -> None:
    changes = [c.to_dict() for c in text_diff(OLD, NEW)]
    assert changes == [
        {"path": "owner.role", "old": None, "new": "Head of Credit"},
        {"path": "sufficiency.window", "old": "7d", "new": "14d"},
        {"path": "sufficiency.metrics[0].at_least", "old": 0.66, "new": 0.6},
        {
            "path": "sufficiency.metrics[1]",
            "old": {"metric": "recall", "at_least": 0.6, "segment": "region == 'north'"},
            "new": None,
        },
        {"path": "stewards", "old": None, "new": [{"name": "MLP", "email": "mlp@bank.example"}]},
    ]
    assert governed_sections(text_diff(OLD, NEW)) == ["owner", "sufficiency"]


def test_comments_and_layout_are_no_change() -> None:
    relaid = OLD.replace("# a comment", "").replace(
        "{metric: roc_auc, at_least: 0.66}", "{at_least: 0.66, metric: roc_auc}"
    )
    assert text_diff(OLD, relaid) == []
    assert describe([]) == "no field changed (comments or layout only)"
    assert (
        describe(text_diff(OLD, NEW), limit=1)
        == "owner.role: (absent) -> 'Head of Credit'; and 4 more"
    )
