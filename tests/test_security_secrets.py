"""Secrets never reach output, the ledger or the database; ``${ENV}`` is expanded only at use.

On SQLite and PostgreSQL: every table of the store is searched for the secret after the command.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from charter.cli.main import main
from charter.redaction import describe_webhook, redact_text, redact_url
from charter.registry.charters import record_charter
from charter.settings import Settings
from charter.store.tables import Base, CharterRecord
from charter.workspace import Workspace

SECRET = "S3CRET-pa55"


def store_text(workspace_dir: Path) -> str:
    """Every value in every table of the workspace's store, as one string."""
    ws = Workspace(workspace_dir, settings=Settings())
    try:
        with ws.db.session() as session:
            record_charter(ws, session, ws.load("credit-default"))  # as every decision does
        with ws.db.read() as session:
            parts = [
                repr(tuple(row))
                for table in Base.metadata.sorted_tables
                for row in session.execute(sa.select(table)).all()
            ]
            assert session.scalars(sa.select(CharterRecord.content)).all()
    finally:
        ws.close()
    return "\n".join(parts)


def set_line(workspace_dir: Path, pattern: str, replacement: str) -> None:
    path = workspace_dir / "charters" / "credit-default.yaml"
    text, count = re.subn(pattern, replacement, path.read_text(), count=1)
    assert count == 1
    path.write_text(text)


def test_a_sql_source_password_from_env_stays_a_reference(
    cli: Any, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_TEST_DB_PASSWORD", SECRET)
    url = (
        "postgresql+psycopg://reader:${CHARTER_TEST_DB_PASSWORD}@127.0.0.1:1/gone"
        "?password=${CHARTER_TEST_DB_PASSWORD}&connect_timeout=2"
    )
    set_line(
        workspace_dir,
        r"  source: \{[^\n]*\}[^\n]*",
        f"  source: {{kind: sql, url: '{url}', table: applications, cursor: seq}}",
    )
    result = cli("ingest", "credit-default", "--json")
    assert SECRET not in result.stdout + result.stderr
    assert "${CHARTER_TEST_DB_PASSWORD}" not in result.stdout  # shown masked, not as written
    assert "reader:***@127.0.0.1:1/gone" in result.stdout
    stored = store_text(workspace_dir)
    assert SECRET not in stored
    assert "ingest.source_failed" in stored
    assert "${CHARTER_TEST_DB_PASSWORD}" in stored  # the charter text keeps its reference


def test_a_webhook_token_from_env_is_used_but_never_kept(
    cli: Any, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_TEST_HOOK_TOKEN", SECRET)
    monkeypatch.setenv("CHARTER_ALERTS_ATTEMPTS", "1")
    set_line(
        workspace_dir,
        r"    - \{route: log, [^\n]*",
        '    - {route: webhook, url: "http://127.0.0.1:1/services/${CHARTER_TEST_HOOK_TOKEN}"}',
    )
    result = cli("alerts", "credit-default", "test", "--json")
    assert "unexpected" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "http://127.0.0.1:1/… (#" in result.stdout
    stored = store_text(workspace_dir)
    assert SECRET not in stored
    assert "${CHARTER_TEST_HOOK_TOKEN}" in stored


def test_a_webhook_with_a_non_numeric_port_fails_check_not_alerts_test(
    cli: Any, workspace_dir: Path
) -> None:
    set_line(
        workspace_dir,
        r"    - \{route: log, [^\n]*",
        '    - {route: webhook, url: "https://hooks.example:abc/services/T0/B0/XXXX"}',
    )
    result = cli("check", "credit-default", "--json")
    assert result.code == 1
    [problem] = result.json()["charters"][0]["problems"]
    assert problem.startswith("operations.alerts[0].url: https://hooks.example:abc/… (#")
    assert "the port is not a number" in problem and "XXXX" not in problem
    test = cli("alerts", "credit-default", "test")
    assert test.code == 1 and "unexpected" not in test.stderr and "XXXX" not in test.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg//alice:S3CRET-pa55@127.0.0.1:1/db",  # a typo: no ':' before //
        " postgresql+psycopg://alice:S3CRET-pa55@127.0.0.1:1/db",  # a leading space
        "postgresql+psycopg://alice@127.0.0.1:1/db?password=S3CRET-pa55&connect_timeout=1",
        "nosuchdriver://alice:S3CRET-pa55@host/db",
    ],
)
def test_a_bad_database_url_is_never_printed_whole(
    url: str, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("CHARTER_DATABASE_URL", url)
    for args in (["status", "credit-default"], ["status", "credit-default", "--json"]):
        code = main(["-w", str(workspace_dir), *args])
        out = capsys.readouterr()
        assert code in (1, 3)
        assert SECRET not in out.out + out.err
        assert "unexpected" not in out.err


# -- the rules (no store) -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://alice:pw@db/x", "postgresql://alice:***@db/x"),
        ("postgresql+psycopg//alice:pw@db/x", "postgresql+psycopg//***@db/x"),
        (" postgresql://alice:pw@db/x", " postgresql://***@db/x"),
        ("mysql://u:p@ss@h/db", "mysql://***@h/db"),
        ("postgresql:alice:pw@h/x", "postgresql:***@h/x"),
        ("https://h/x?token=abc&a=1&api_key=k", "https://h/x?a=1&api_key=***&token=***"),
        ("https://h/x?Password=abc;sig=zz", "https://h/x?Password=***"),
        ("sqlite:////tmp/charter.db", "sqlite:////tmp/charter.db"),
        ("postgresql://alice:${PW}@db/x", "postgresql://alice:***@db/x"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_masks_urls_and_password_pairs_in_messages() -> None:
    text = 'could not connect to "postgresql://bob:pw1@h/x": password=pw2 host=h'
    masked = redact_text(text)
    assert "pw1" not in masked and "pw2" not in masked
    assert "postgresql://bob:***@h/x" in masked and "host=h" in masked


def test_describe_webhook_never_shows_path_query_or_userinfo() -> None:
    shown = describe_webhook("https://user:pw@hooks.slack.com/services/T0/B0/XXXX?token=t")
    assert shown.startswith("https://hooks.slack.com/… (#")
    assert not any(part in shown for part in ("pw", "XXXX", "token", "user"))
