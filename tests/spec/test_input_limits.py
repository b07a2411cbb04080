"""Hostile or careless charter text ends in field-path problems, never in an unexpected error."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.errors import CharterFileError
from charter.spec import load_charter_file, parse_charter
from charter.spec.scaffold import render

BASE = render("credit-default", owner_name="Dana Ruiz", owner_email="dana@bank.example")


def problems(text: str) -> list[str]:
    with pytest.raises(CharterFileError) as caught:
        parse_charter(text)
    return caught.value.problems


def test_a_second_owner_key_is_an_error_naming_the_key_and_both_lines() -> None:
    first = next(i for i, line in enumerate(BASE.splitlines(), 1) if line.startswith("owner:"))
    last = len(BASE.splitlines()) + 1
    text = BASE + 'owner: {name: "Eve", email: eve@evil.example}\n'
    assert problems(text) == [
        f"owner: the key 'owner' is given twice, on line {first} and line {last}; keep one"
    ]


def test_a_duplicate_key_deep_in_the_file_names_its_path() -> None:
    text = BASE.replace("key: id ", "key: id\n  key: other ")
    [problem] = problems(text)
    assert problem.startswith("data.key: the key 'key' is given twice")


def test_a_duplicate_key_in_one_flow_mapping() -> None:
    text = BASE.replace("{max_lateness: 2h}", "{max_lateness: 2h, max_lateness: 3h}")
    [problem] = problems(text)
    assert problem.startswith("data.freshness.max_lateness: the key 'max_lateness' is given twice")


def test_a_yaml_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    bomb = "\n".join(lines) + "\n"
    assert len(bomb) < 3_000
    [problem] = problems(BASE + "\n".join("x" + line for line in bomb.splitlines()) + "\n")
    assert "once aliases are expanded" in problem


def test_a_recursive_alias_is_refused() -> None:
    [problem] = problems(BASE + "loop: &loop [*loop]\n")
    assert problem.startswith("loop: an alias refers to the value that contains it")


def test_nesting_1500_levels_deep_is_refused() -> None:
    text = BASE.replace("delegates: []", "delegates: " + "[" * 1_500 + "]" * 1_500)
    [problem] = problems(text)
    assert problem.startswith("delegates[0][0]")
    assert "nested more than 50 levels deep" in problem


def test_a_5000_digit_integer_is_refused_with_its_field() -> None:
    [problem] = problems(BASE.replace("min_labels: 200", "min_labels: " + "9" * 5_000))
    assert problem.startswith("sufficiency.min_labels: a 5000-digit integer is over the limit")


def test_an_integer_just_past_the_limit_is_refused_and_the_limit_is_accepted() -> None:
    [problem] = problems(BASE.replace("min_labels: 200", f"min_labels: {10**18 + 1}"))
    assert problem.startswith(f"sufficiency.min_labels: integer {10**18 + 1} is over the limit")
    accepted = parse_charter(BASE.replace("min_labels: 200", f"min_labels: {10**18}"))
    assert accepted.charter.sufficiency.min_labels == 10**18


def test_a_tagged_value_its_tag_cannot_read() -> None:
    [problem] = problems(BASE.replace("min_labels: 200", "min_labels: !!int 'x'"))
    assert problem.startswith("sufficiency.min_labels: cannot read 'x' as int")


def test_a_duration_past_100_years_is_refused() -> None:
    [problem] = problems(BASE.replace("window: 7d", "window: 9999999999d"))
    assert problem.startswith("sufficiency.window: '9999999999d' is longer than the limit")
    assert parse_charter(BASE.replace("window: 7d", "window: 36525d")).charter.sufficiency


def test_a_segment_over_its_limits_names_the_metric() -> None:
    segment = "a in [" + ",".join(["1"] * 2_001) + "]"
    text = BASE.replace(
        "{metric: recall, at_least: 0.60}",
        f'{{metric: recall, at_least: 0.6, segment: "{segment}"}}',
    )
    [problem] = problems(text)
    assert problem.startswith("sufficiency.metrics[1].segment:")
    assert "too many terms" in problem


def test_a_file_over_one_mib_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "credit-default.yaml"
    path.write_text(BASE + "# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(CharterFileError) as caught:
        load_charter_file(path)
    [problem] = caught.value.problems
    assert "over the limit of 1,048,576 bytes" in problem


def test_a_timestamp_tag_on_a_word_is_a_clear_problem() -> None:
    from charter.spec.yaml_reader import YamlProblem, load_yaml

    with pytest.raises(YamlProblem, match=r"cannot read 'never' as timestamp: not in the form"):
        load_yaml("a: !!timestamp 'never'\n")
