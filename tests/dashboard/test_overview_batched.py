"""The overview reads every charter at once (one query per kind): the same lines as reading each
charter alone, and a charter whose rows do not match the ledger is still that charter's line only.

The workspace is the dashboard's (:mod:`tests.dashboard.conftest`), plus a second charter (the
same file under another name, no version yet) and, where a test says so, an unreadable one.
"""

from __future__ import annotations

import sqlalchemy as sa
from tests.dashboard.conftest import Pending
from tests.server.conftest import NAME, OWNER

from charter.server.dashboard.pages import Summary, summaries, summary
from charter.services.oversight import suspend
from charter.store.tables import CharterSuspension

SECOND = "second-model"


def _second(pending: Pending) -> None:
    ws = pending.api.ws
    text = ws.charter_path(NAME).read_text()
    assert f"name: {NAME}" in text
    (ws.charters_dir / f"{SECOND}.yaml").write_text(
        text.replace(f"name: {NAME}", f"name: {SECOND}")
    )


def _line(s: Summary) -> tuple[object, ...]:
    return (
        s.name, s.error, s.headline, s.alerts, [(v.version, v.status) for v in s.versions],
        [(w.version, w.start, w.verdict) for w in s.strip], [w.decision.id for w in s.waiting],
        s.newest_batch, s.quarantined_share, s.suspension,
    )  # fmt: skip


def test_every_line_is_the_one_its_charter_reads_alone(pending: Pending) -> None:
    _second(pending)
    suspend(pending.api.ws, NAME, by=OWNER, reason="a pause")
    (pending.api.ws.charters_dir / "broken.yaml").write_text("name: [unclosed\n")
    names = pending.api.ws.charter_names()

    together = summaries(pending.api.ws, names)
    alone = [summary(pending.api.ws, n, together[0].now) for n in names]

    assert [_line(s) for s in together] == [_line(s) for s in alone]
    assert [s.name for s in together] == ["broken", NAME, SECOND]
    assert together[0].error and together[1].suspension and together[1].waiting


def test_a_tampered_suspension_is_its_charters_line_only(pending: Pending) -> None:
    _second(pending)
    suspend(pending.api.ws, NAME, by=OWNER, reason="a pause")
    with pending.api.ws.db.session() as session:
        session.execute(sa.delete(CharterSuspension))  # un-suspended behind charter's back

    page = pending.api.get("/", who="viewer")

    assert page.status_code == 200
    first = page.text.split(f'data-charter="{NAME}"', 1)[1].split("</tr>", 1)[0]
    other = page.text.split(f'data-charter="{SECOND}"', 1)[1].split("</tr>", 1)[0]
    assert "deleted outside charter" in first
    assert "deleted outside charter" not in other and "No version is live yet" in other
