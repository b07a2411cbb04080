"""Docs are tested: the generated references are current, and every charter field is described."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from charter.docs_gen import charter_file_reference, cli_reference, results_reference
from charter.spec import model as spec_model

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = Path(__file__).resolve().parent.parent / "README.md"


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text() == cli_reference(), "run: python scripts/gen_docs.py"


def test_charter_file_reference_is_current() -> None:
    assert (DOCS / "charter-file.md").read_text() == charter_file_reference(), (
        "run: python scripts/gen_docs.py"
    )


def test_every_charter_field_has_a_description() -> None:
    missing = [
        f"{cls.__name__}.{name}"
        for cls in vars(spec_model).values()
        if isinstance(cls, type)
        and issubclass(cls, BaseModel)
        and cls.__module__ == spec_model.__name__
        for name, info in cls.model_fields.items()
        if not info.description
    ]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    head = README.read_text().split("## ", 1)[0]
    assert "make demo" in head and "make test" in head


def test_readme_documents_every_setting() -> None:
    from charter.settings import Settings

    text = README.read_text()
    for name in Settings.model_fields:
        assert f"CHARTER_{name.upper()}" in text, name


def test_results_reference_is_current() -> None:
    assert (DOCS / "results.md").read_text() == results_reference(), (
        "run: python scripts/gen_docs.py"
    )


def test_readme_speed_section_is_current() -> None:
    from tests.test_speed_section import speed_section

    script = speed_section()
    wanted = script.rewrite(README.read_text(), script.RESULTS.read_text())
    assert README.read_text() == wanted, "run: python scripts/speed_section.py"
