"""A workspace made by release 0.1.0 (Alembic head ``0014``) upgrades to the newest schema.

The fixtures were made by ``fixtures/make_v010.py`` with the 0.1.0 code: a SQLite workspace
(``fixtures/v010/``) and a plain-SQL dump of the same story on PostgreSQL (``fixtures/v010.pg.sql``).
Both are opened from a folder other than the one they were made in, as a copied workspace is.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL, fresh_postgres_database

from charter.cli.main import main
from charter.store.database import Database
from charter.store.migrate import head_revision
from charter.store.tables import Alert, Decision, ModelVersion

FIXTURES = Path(__file__).parent / "fixtures"
CHARTER = "credit-default"


def run(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["-w", str(root), *args])
    return code, out.getvalue(), err.getvalue()


def load_dump(url: str) -> None:
    """Load the 0.1.0 PostgreSQL dump into the (empty) schema the URL's search_path names."""
    options = parse_qs(urlparse(url).query)["options"][0]
    schema = options.split("search_path=")[1].split()[0]
    database = urlparse(url).path.lstrip("/")
    sql = (FIXTURES / "v010.pg.sql").read_text().replace("charter_v010.", f"{schema}.")
    admin = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", admin],
        input=sql,
        text=True,
        check=True,
        capture_output=True,
    )


@pytest.fixture(params=BACKENDS)
def upgraded(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    """The 0.1.0 workspace copied to a new folder, on each backend, before any upgrade."""
    root = tmp_path / "copied" / "ws"
    shutil.copytree(FIXTURES / "v010", root)
    monkeypatch.setenv("CHARTER_AUDIT_KEY_FILE", str(root / ".charter" / "keys" / "audit.key"))
    monkeypatch.setenv("CHARTER_ACTOR", "lee.chen@bank.example")
    if request.param == "sqlite":
        monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
        yield root, f"sqlite:///{root / '.charter' / 'charter.db'}"
        return
    (root / ".charter" / "charter.db").unlink()
    with fresh_postgres_database() as url:
        load_dump(url)
        monkeypatch.setenv("CHARTER_DATABASE_URL", url)
        yield root, url


def _revision(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def test_a_010_workspace_upgrades_to_head_and_keeps_its_data(upgraded: tuple[Path, str]) -> None:
    root, url = upgraded
    assert _revision(url) == "0014"

    code, out, err = run(root, "audit", "verify", "--json")
    assert code == 0, err
    verified: dict[str, Any] = json.loads(out)
    assert verified["ok"] is True
    assert _revision(url) == head_revision()

    db = Database(url, migrate=False)
    try:
        with db.read() as session:
            versions = session.scalars(sa.select(ModelVersion).order_by(ModelVersion.version)).all()
            alerts = session.scalars(sa.select(Alert).order_by(Alert.id)).all()
            decisions = session.scalars(sa.select(Decision).order_by(Decision.id)).all()
    finally:
        db.dispose()
    assert [(v.version, v.status) for v in versions] == [(1, "standby"), (2, "live"), (3, "shadow")]
    # went_live_at comes from the ledger: versions 1 and 2 went live, in that order; 3 never did.
    first, second, third = (v.went_live_at for v in versions)
    assert first is not None and second is not None and third is None
    assert first < second
    assert first.tzinfo is UTC and versions[0].created_at.tzinfo is UTC
    # The artifacts were under the old workspace's store: now keys relative to the store.
    assert [v.artifact_uri for v in versions] == [
        f"sha256/{v.sha256[:2]}/{v.sha256}/{v.lineage['artifact']['name']}" for v in versions
    ]
    assert sorted({(a.status, a.severity) for a in alerts}) == [
        ("acked", "critical"),
        ("open", "critical"),
    ]
    assert all(a.first_seen.tzinfo is UTC for a in alerts)
    assert [d.status for d in decisions] == ["approved", "approved"]

    code, out, err = run(root, "status", CHARTER, "--json")
    assert code == 0, err
    windows = json.loads(out)["windows"]
    assert {w["version"] for w in windows} >= {"1", "2"}

    code, out, err = run(root, "versions", CHARTER, "--verify")
    assert code == 0, err
    assert "tampered" not in out.lower()


def test_status_values_outside_the_new_checks_stop_the_upgrade_and_change_nothing(
    upgraded: tuple[Path, str],
) -> None:
    root, url = upgraded
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alerts SET status = 'snoozed' WHERE id = 1"))
    finally:
        engine.dispose()

    code, _, err = run(root, "status", CHARTER)

    assert code != 0
    assert "revision 0015" in err and "alerts.status = 'snoozed' in 1 row(s)" in err
    assert "Nothing was changed" in err
    assert _revision(url) == "0014"
