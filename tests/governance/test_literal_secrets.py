"""A secret written literally in a charter file (a webhook token, a SQL password) is used, yet
reaches neither the store, the ledger, ``charter changes``, ``status --json`` nor the export.

On SQLite and PostgreSQL (the store); the SQL source is always the test PostgreSQL server, whose
trust authentication accepts any password, so the password in the URL can be a made-up literal.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import BACKENDS
from tests.lifecycle.test_lifecycle_support import NAME, OWNER, Lab

from charter.errors import DataError
from charter.plumbing.sources import SqlReader
from charter.spec.model import SqlSource
from charter.store.tables import Base
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres
TOKEN = "XXXXtok3nLiteral9"
NEW_TOKEN = "YYYYtok3nRotated7"
PASSWORD = "S3CRETpassw0rd"
PG = "127.0.0.1:5432/postgres"


@pytest.fixture
def hook() -> Iterator[tuple[str, list[str]]]:
    """A webhook receiver on 127.0.0.1: its base URL, and the path of every POST it got."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            paths.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", paths
    server.shutdown()
    server.server_close()


@pytest.fixture
def source_table() -> Iterator[str]:
    """An empty table in the test PostgreSQL server, for the SQL source."""
    if "postgres" not in BACKENDS:
        pytest.skip("needs the test PostgreSQL server")
    name = f"secret_src_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(f"postgresql+psycopg://postgres@{PG}")
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {name} (seq integer, id text)"))
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


def edit(ws: Workspace, old: str, new: str) -> None:
    path = ws.charters_dir / f"{NAME}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def with_literal_secrets(lab: Lab, hook_url: str, table: str) -> None:
    """The lab's charter with a literal webhook token and a literal SQL password."""
    edit(
        lab.ws,
        "alerts: [{",
        f'alerts: [{{route: webhook, url: "{hook_url}/services/T000/B000/{TOKEN}"}}, {{',
    )
    url = f"postgresql+psycopg://postgres:{PASSWORD}@{PG}"
    edit(
        lab.ws,
        "source: {kind: parquet_dir, path: landing/credit-default/}",
        f"source: {{kind: sql, url: '{url}', table: {table}, cursor: seq}}",
    )


def everything_stored(ws: Workspace) -> str:
    """Every value of every row of every table of the store, as one string."""
    with ws.db.read() as session:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in session.execute(sa.select(table)).all()
        )


def assert_nowhere(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


def test_literal_secrets_are_used_but_kept_nowhere(
    cli: Any, lab: Lab, hook: tuple[str, list[str]], source_table: str, tmp_path: Path
) -> None:
    hook_url, paths = hook
    with_literal_secrets(lab, hook_url, source_table)
    lab.model(status="live")

    tested = cli("alerts", NAME, "test", "--json")
    assert tested.code == 0, tested.stdout + tested.stderr
    assert paths == [f"/services/T000/B000/{TOKEN}"]  # the literal URL, at use
    ingested = cli("ingest", NAME, "--json")
    assert ingested.code == 0, ingested.stdout + ingested.stderr
    assert ingested.json()["files_failed"] == []  # connected with the literal password

    edit(lab.ws, "min_labels: 20", "min_labels: 5")  # pending: the stored terms are in force
    status = cli("status", NAME, "--json")
    assert status.json()["pending_changes"]
    source = lab.ws.load(NAME).charter.data.source
    assert isinstance(source, SqlSource)
    reader = SqlReader(source, charter=NAME)  # revealed from the file for the stored terms
    assert reader.engine.url.password == PASSWORD
    assert reader.next_batch(None) is None  # it connects: the table is empty
    assert cli("alerts", NAME, "test", "--json").code == 0
    assert paths[-1] == f"/services/T000/B000/{TOKEN}"

    changes = cli("changes", NAME, "--all", "--json")
    exported = tmp_path / "audit.jsonl"
    assert cli("audit", "export", "-o", str(exported)).code == 0
    shown = status.stdout + status.stderr + changes.stdout + changes.stderr + tested.stdout
    assert_nowhere(shown + exported.read_text(), TOKEN, PASSWORD)
    stored = everything_stored(lab.ws)
    assert_nowhere(stored, TOKEN, PASSWORD)
    assert "${CHARTER_SECRET_" in stored  # the stored text holds references
    assert cli("audit", "verify", "--json").json()["ok"] is True


def test_a_changed_literal_is_a_change_shown_by_its_reference(
    cli: Any, lab: Lab, hook: tuple[str, list[str]], source_table: str
) -> None:
    hook_url, paths = hook
    with_literal_secrets(lab, hook_url, source_table)
    lab.model(status="live")
    lab.ws.load(NAME)

    edit(lab.ws, TOKEN, NEW_TOKEN)  # operations is governed: the change waits for the owner
    listed = cli("changes", NAME, "--json")
    (change,) = listed.json()["changes"]
    (field,) = change["diff"]
    assert field["path"] == "operations.alerts[0].url"
    assert field["old"].startswith(f"{hook_url}/${{CHARTER_SECRET_")
    assert field["new"].startswith(f"{hook_url}/${{CHARTER_SECRET_")
    assert field["old"] != field["new"]
    assert_nowhere(listed.stdout + listed.stderr, TOKEN, NEW_TOKEN)

    # The accepted terms need the old token, which the file no longer holds: a clear failure.
    tested = cli("alerts", NAME, "test", "--json")
    assert tested.code != 0
    assert "no longer holds it" in tested.stdout + tested.stderr
    assert paths == []

    assert cli("accept-change", NAME, str(change["id"]), "--as", OWNER).code == 0
    assert cli("alerts", NAME, "test", "--json").code == 0
    assert paths == [f"/services/T000/B000/{NEW_TOKEN}"]
    assert_nowhere(everything_stored(lab.ws), TOKEN, NEW_TOKEN, PASSWORD)


def test_a_sql_password_the_file_no_longer_holds_is_a_clear_error(
    lab: Lab, hook: tuple[str, list[str]], source_table: str
) -> None:
    with_literal_secrets(lab, hook[0], source_table)
    lab.model(status="live")
    lab.ws.load(NAME)
    edit(lab.ws, PASSWORD, "An0therPassw0rd")  # data is governed: pending
    source = lab.ws.load(NAME).charter.data.source
    assert isinstance(source, SqlSource)
    with pytest.raises(DataError) as raised:
        SqlReader(source, charter=NAME)
    assert "no longer holds it" in raised.value.message
    assert raised.value.hint is not None and "${NAME}" in raised.value.hint
    assert PASSWORD not in raised.value.message


def test_rows_stored_with_literals_before_keep_working_and_are_replaced(
    cli: Any, lab: Lab, hook: tuple[str, list[str]], source_table: str, monkeypatch: Any
) -> None:
    from charter.spec import loader

    with_literal_secrets(lab, hook[0], source_table)
    loader._parsed.cache_clear()  # parsed texts are kept: parse again with the old behaviour
    with monkeypatch.context() as old:  # as charter stored the text before concealing
        old.setattr(loader, "conceal_charter", lambda text, data, source: (text, {}))
        lab.model(status="live")
        lab.ws.load(NAME)
        assert TOKEN in everything_stored(lab.ws)
    loader._parsed.cache_clear()  # and forget what the old behaviour parsed
    assert cli("audit", "verify", "--json").json()["ok"] is True

    assert cli("alerts", NAME, "test", "--json").code == 0  # the next command conceals them
    assert hook[1] == [f"/services/T000/B000/{TOKEN}"]
    (change,) = cli("changes", NAME, "--all", "--json").json()["changes"]
    assert change["status"] == "applied" and change["diff"] == []  # the same terms, concealed
    with lab.ws.db.read() as session:
        (terms,) = session.scalars(sa.text("SELECT content FROM charter_terms")).all()
    assert TOKEN not in terms and PASSWORD not in terms
    lab.model()  # the next command that records the charter replaces its stored text too
    with lab.ws.db.read() as session:
        (recorded,) = session.scalars(sa.text("SELECT content FROM charters")).all()
    assert TOKEN not in recorded and PASSWORD not in recorded
    assert cli("audit", "verify", "--json").json()["ok"] is True
