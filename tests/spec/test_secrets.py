"""Concealing the literal secrets of a charter text, and revealing them from the file."""

from __future__ import annotations

import hashlib

import pytest

from charter.errors import CharterFileError
from charter.redaction import MissingSecretError, expand_env
from charter.spec.loader import parse_charter
from charter.spec.scaffold import render
from charter.spec.secrets import (
    conceal,
    literals_of,
    reference_for,
    reveal,
)

TEXT = """\
operations:
  alerts:
    - {route: webhook, url: "https://hooks.example/T000/B000/XXXXsecret"}
    - {route: webhook, url: "https://hooks.example/services/${HOOK_TOKEN}"}
    - {route: log}
data:
  source: {kind: sql, url: 'postgresql://alice:S3CRET@db/x?sslmode=require&password=pw2', table: t}
  docs: https://wiki.example/page?token=abc123&lang=en
  env: 'postgresql://bob:${DB_PASSWORD}@db/x'
# a comment quoting T000/B000/XXXXsecret
"""


def ref(literal: str) -> str:
    return "${" + reference_for(literal) + "}"


def test_every_literal_becomes_a_stable_reference_and_env_references_stay() -> None:
    concealed = conceal(TEXT)
    for literal in ("XXXXsecret", "S3CRET", "pw2", "abc123"):
        assert literal not in concealed
    assert f'url: "https://hooks.example/{ref("T000/B000/XXXXsecret")}"' in concealed
    assert f"postgresql://alice:{ref('S3CRET')}@db/x?sslmode=require&password={ref('pw2')}" in (
        concealed
    )
    assert f"?token={ref('abc123')}&lang=en" in concealed
    assert "https://hooks.example/services/${HOOK_TOKEN}" in concealed
    assert "postgresql://bob:${DB_PASSWORD}@db/x" in concealed
    assert f"# a comment quoting {ref('T000/B000/XXXXsecret')}" in concealed
    assert conceal(concealed) == concealed == conceal(TEXT)  # stable, and idempotent
    digest = hashlib.sha256(b"charter-secret\0S3CRET").hexdigest()[:12]
    assert reference_for("S3CRET") == f"CHARTER_SECRET_{digest}"


def test_reveal_puts_the_literals_back_from_the_file() -> None:
    assert reveal(conceal(TEXT), TEXT) == TEXT
    assert set(literals_of(TEXT).values()) == {"T000/B000/XXXXsecret", "S3CRET", "pw2", "abc123"}


def test_a_reference_the_file_no_longer_holds_is_a_clear_error() -> None:
    changed = TEXT.replace("S3CRET", "N3W")
    with pytest.raises(MissingSecretError) as raised:
        reveal(conceal(TEXT), changed, charter="credit-default")
    assert "no longer holds it" in raised.value.message
    assert "credit-default" in raised.value.message
    assert raised.value.hint is not None and "charters/credit-default.yaml" in raised.value.hint
    kept = reveal(conceal(TEXT), changed, strict=False)
    assert ref("S3CRET") in kept and "XXXXsecret" in kept
    with pytest.raises(MissingSecretError, match="the webhook URL of credit-default needs"):
        expand_env(
            f"https://h.example/{ref('gone')}", what="the webhook URL", charter="credit-default"
        )


def test_a_secret_charter_cannot_find_verbatim_is_refused_not_stored() -> None:
    escaped = 'operations:\n  alerts: [{route: webhook, url: "https://h.example/T0/\\x41BC"}]\n'
    with pytest.raises(CharterFileError, match=r"operations.alerts\[0\].url: this URL holds"):
        conceal(escaped)


def test_a_loaded_charter_keeps_the_literal_in_its_model_only() -> None:
    text = render("credit-default", owner_name="Dana", owner_email="dana@bank.example")
    hook = '- {route: webhook, url: "https://h.example/T0/B0/S3CRETtoken"}\n    - {route: log,'
    text = text.replace("- {route: log,", hook)
    loaded = parse_charter(text)
    assert "S3CRETtoken" not in loaded.text
    assert loaded.sha256 == hashlib.sha256(loaded.text.encode()).hexdigest()
    assert loaded.charter.operations.alerts[0].url == "https://h.example/T0/B0/S3CRETtoken"
    assert "secrets" not in loaded.model_dump()  # the map of literals is never serialised
    assert list(loaded.secrets.values()) == ["T0/B0/S3CRETtoken"]
    assert parse_charter(loaded.text).sha256 == loaded.sha256  # the stored text is stable


def test_a_charter_without_literal_secrets_is_stored_exactly_as_written() -> None:
    text = render("credit-default", owner_name="Dana", owner_email="dana@bank.example")
    loaded = parse_charter(text)
    assert loaded.text == text
    assert loaded.sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_an_at_sign_in_a_webhook_path_is_not_taken_for_user_info() -> None:
    text = 'operations:\n  alerts: [{route: webhook, url: "https://h.example/hook/a@b/T0KEN"}]\n'
    assert conceal(text) == (
        'operations:\n  alerts: [{route: webhook, url: "https://h.example/'
        + ref("hook/a@b/T0KEN")
        + '"}]\n'
    )
