"""The charter file: the scaffold is valid, and every kind of mistake is named by field path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from charter.errors import CharterFileError
from charter.spec import load_charter_file, parse_charter, parse_duration
from charter.spec.scaffold import render


def problems_for(text: str) -> list[str]:
    with pytest.raises(CharterFileError) as info:
        parse_charter(text)
    return info.value.problems


def test_scaffold_is_valid_and_reads_back() -> None:
    charter = parse_charter(render("credit-default")).charter
    assert charter.name == "credit-default"
    assert charter.owner.email == "owner@example.com"
    assert charter.sufficiency.window == timedelta(days=7)
    assert [m.metric for m in charter.sufficiency.metrics] == ["roc_auc", "recall"]
    assert charter.data.feature_columns() == ["amount", "channel"]
    assert charter.operations.alerts[0].on == ["breach", "drift_breach", "stalled_decision"]


def test_threshold_out_of_range_names_the_field_path() -> None:
    text = render("c").replace("at_least: 0.75", "at_least: 7.5")
    assert any(
        p.startswith(
            "sufficiency.metrics[0].at_least: must be a number between 0 and 1 for roc_auc"
        )
        for p in problems_for(text)
    )


def test_missing_owner_is_reported() -> None:
    text = "\n".join(line for line in render("c").splitlines() if not line.startswith("owner:"))
    assert any(
        p.startswith("owner: a charter must name its business owner") for p in problems_for(text)
    )


def test_unknown_metric_lists_the_known_ones() -> None:
    problems = problems_for(render("c").replace("metric: recall", "metric: recal"))
    assert len(problems) == 1
    assert problems[0].startswith(
        "sufficiency.metrics[1].metric: unknown metric 'recal'; expected one of"
    )
    assert "roc_auc" in problems[0]


def test_unknown_field_type_is_reported() -> None:
    problems = problems_for(render("c").replace("type: float", "type: decimal"))
    assert problems[0].startswith("data.fields.amount.type: unknown field type 'decimal'")


def test_unparseable_duration_is_reported() -> None:
    problems = problems_for(render("c").replace("window: 7d", "window: 7 days"))
    assert problems[0].startswith("sufficiency.window: '7 days' is not a duration")


def test_every_problem_is_listed_with_its_line() -> None:
    text = (
        render("c")
        .replace("window: 7d", "window: soon")
        .replace("type: float", "type: money")
        .replace("at_least: 0.60", "at_most: 0.60")
    )
    problems = problems_for(text)
    assert len(problems) == 3
    assert all("(line " in p for p in problems)
    assert any("recall is better when higher: use at_least, not at_most" in p for p in problems)


def test_typo_in_a_field_name_suggests_the_right_one() -> None:
    problems = problems_for(render("c").replace("min_labels:", "min_lables:"))
    assert "sufficiency.min_lables: unknown field (did you mean 'min_labels'?)" in problems[0]


def test_metric_of_the_wrong_task_is_refused() -> None:
    text = render("c").replace("metric: recall, at_least: 0.60", "metric: mae, at_most: 3")
    assert any(
        "mae is a regression metric but task is binary_classification" in p
        for p in problems_for(text)
    )


def test_bad_segment_expression_is_refused() -> None:
    text = render("c").replace(
        "    - {metric: recall, at_least: 0.60}",
        '    - {metric: recall, at_least: 0.6, segment: "region =="}',
    )
    problems = problems_for(text)
    assert problems[0].startswith("sufficiency.metrics[1].segment: expression")


def test_malformed_yaml_names_line_and_column() -> None:
    problems = problems_for("name: c\nowner: {name: x\n")
    assert len(problems) == 1
    assert problems[0].startswith("line ") and "malformed YAML" in problems[0]


def test_yes_no_on_off_stay_strings() -> None:
    charter = parse_charter(render("c")).charter
    assert charter.operations.alerts[0].on[0] == "breach"


def test_file_name_must_match_charter_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(render("credit-default"))
    with pytest.raises(CharterFileError) as info:
        load_charter_file(path)
    assert "does not match the file name" in info.value.problems[0]


def test_a_file_read_again_is_the_same_and_an_edit_is_seen_at_once(tmp_path: Path) -> None:
    path = tmp_path / "credit-default.yaml"
    path.write_text(render("credit-default"))
    first, again = load_charter_file(path), load_charter_file(path)
    assert first == again and first is not again  # each caller gets its own
    again.secrets["X"] = "y"
    assert "X" not in load_charter_file(path).secrets

    path.write_text(render("credit-default").replace("at_least: 0.75", "at_least: 0.7"))
    assert load_charter_file(path).charter.sufficiency.metrics[0].at_least == 0.7
    path.write_text(render("credit-default").replace("at_least: 0.75", "at_least: 7.5"))
    for _ in range(2):  # a failure is never kept: refused each time, naming the field
        with pytest.raises(CharterFileError, match="at_least"):
            load_charter_file(path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("30m", 1800), ("2h", 7200), ("7d", 604800), ("1d12h", 129600), ("2w", 1209600)],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["7 days", "", "d", "0h", "-1d", "1y"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_duration(text)


def test_a_segment_on_a_column_the_contract_lacks_is_named_with_a_suggestion() -> None:
    text = render("c").replace(
        "    # - {metric: recall, at_least: 0.55, segment: \"region == 'north'\"}",
        "    - {metric: recall, at_least: 0.55, segment: \"chanel == 'web'\"}",
    )
    (problem,) = problems_for(text)
    assert problem.startswith("sufficiency.metrics[2].segment: ")
    assert "unknown column 'chanel' (did you mean 'channel'?)" in problem
    assert "available columns: amount, channel, event_at, id" in problem
    fixed = text.replace("chanel == 'web'", "channel == 'web'")
    assert parse_charter(fixed).charter.sufficiency.metrics[2].segment == "channel == 'web'"
