"""The alert outbox on both backends: raising queues, `charter alerts deliver` sends.

Every webhook here is a real HTTP server on 127.0.0.1 (see conftest); the workspace retries
3 times with a 0.05 s backoff (CHARTER_ALERTS_* set by the conftest's ``workspace_dir``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from charter.alerts.delivery import RetryPolicy
from charter.alerts.outbox import claim, deliver_pending, lease, pending
from charter.alerts.raising import AlertInfo, get_alert, raise_alert
from charter.store.database import Database
from charter.store.migrate import _config
from charter.store.tables import AlertDelivery, AlertOutboxEntry
from charter.workspace import Workspace

from .conftest import CHARTER, Hook, set_routes


def _raise(ws: Workspace, window: str = "2026-11-16/2026-11-23") -> AlertInfo:
    return raise_alert(
        ws,
        CHARTER,
        event="breach",
        rule="sufficiency.roc_auc",
        window=window,
        severity="critical",
        message="roc_auc 0.71 is below the agreed 0.75",
    )


def test_raising_an_alert_queues_its_webhook_and_makes_no_http_call(
    ws: Workspace, workspace_dir: Path, hook: Hook
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}, {"route": "log"}])
    alert = _raise(ws)
    assert hook.bodies == []
    assert [d.route for d in alert.deliveries] == ["log"], "the log route is written at once"
    (queued,) = pending(ws)
    assert (queued.alert_id, queued.route, queued.state, queued.attempts) == (
        alert.id,
        "webhook",
        "pending",
        0,
    )
    assert "secret" not in queued.target, "the webhook URL is never stored"
    with ws.db.read() as session:
        assert session.scalars(sa.select(AlertOutboxEntry.route_index)).all() == [0]


def test_charter_alerts_deliver_once_posts_to_the_webhook(
    ws: Workspace, workspace_dir: Path, hook: Hook, cli: Any
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    alert = _raise(ws)
    result = cli("alerts", "deliver", "--once", "--json")
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["sent"], body["failed"], body["retrying"], body["pending"]) == (1, 0, 0, 0)
    assert body["deliveries"][0]["alert_id"] == alert.id
    ((posted,),) = [[b for b in hook.bodies]]
    assert f"#{alert.id}" in json.dumps(posted)
    listed = json.loads(cli("alerts", CHARTER, "list", "--json").stdout)
    (delivery,) = listed["alerts"][0]["deliveries"]
    assert (delivery["route"], delivery["ok"], delivery["status"]) == ("webhook", True, "200")
    again = json.loads(cli("alerts", "deliver", CHARTER, "--json").stdout)
    assert again["sent"] == 0 and len(hook.bodies) == 1, "sent once, never again"
    human = cli("alerts", "deliver")
    assert human.code == 0 and "0 sent, 0 failed, 0 to retry; 0 pending" in human.stdout


def test_a_failing_webhook_is_retried_on_later_passes_then_failed_the_other_delivered(
    ws: Workspace, workspace_dir: Path, hook_factory: Any
) -> None:
    down, up = hook_factory(), hook_factory()
    down.then(500, 500, 500)
    set_routes(
        workspace_dir, [{"route": "webhook", "url": down.url}, {"route": "webhook", "url": up.url}]
    )
    alert = _raise(ws)
    now = datetime.now(UTC)
    first = deliver_pending(ws, now=now)
    assert (first.count("sent"), first.count("pending")) == (1, 1)
    assert (len(down.bodies), len(up.bodies)) == (1, 1)
    (retry,) = pending(ws)
    assert retry.next_attempt_at == now + timedelta(seconds=0.05), "backoff, not sleep"
    assert retry.error == "HTTP 500: server says no"
    assert deliver_pending(ws, now=now).deliveries == (), "not due yet"
    second = deliver_pending(ws, now=retry.next_attempt_at)
    assert second.count("pending") == 1 and len(down.bodies) == 2
    (retry,) = pending(ws)
    assert retry.next_attempt_at == second.deliveries[0].next_attempt_at
    assert retry.next_attempt_at is not None
    third = deliver_pending(ws, now=retry.next_attempt_at)
    (gave_up,) = third.deliveries
    assert gave_up.state == "failed" and gave_up.attempts == 3
    assert gave_up.error == "HTTP 500: server says no (gave up after 3 attempts)"
    assert pending(ws) == [] and (len(down.bodies), len(up.bodies)) == (3, 1)
    delivered, failed = get_alert(ws, CHARTER, alert.id).deliveries
    assert delivered.ok and not failed.ok
    assert [a.status for a in failed.attempts] == ["500", "500", "500"]
    assert [a.number for a in failed.attempts] == [1, 2, 3]


def test_two_deliver_processes_at_once_deliver_each_alert_exactly_once(
    ws: Workspace, workspace_dir: Path, hook: Hook
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    alerts = [_raise(ws, window=f"2026-11-{day:02d}/2026-11-{day + 1:02d}") for day in range(1, 9)]
    hook.then(*[0.05] * len(alerts))  # each answer takes a moment, so the two passes overlap
    command = [sys.executable, "-m", "charter.cli.main", "-w", str(workspace_dir)]
    workers = [
        subprocess.Popen(
            [*command, "alerts", "deliver", "--once", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    sent = [json.loads(out)["sent"] for out, _ in outputs]
    assert sum(sent) == len(alerts)
    posted = [json.dumps(b) for b in hook.bodies]
    assert len(posted) == len(alerts)
    assert all(sum(f"#{a.id}" in p for p in posted) == 1 for a in alerts)
    with ws.db.read() as session:
        stored = session.scalars(sa.select(AlertDelivery.alert_id)).all()
    assert len(stored) == len(alerts) and set(stored) == {a.id for a in alerts}


def test_a_crash_between_claim_and_send_leaves_the_delivery_due_after_the_lease(
    ws: Workspace, workspace_dir: Path, hook: Hook
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    alert = _raise(ws)
    policy = RetryPolicy.from_settings(ws.settings.alerts)
    now = datetime.now(UTC)
    (queued,) = pending(ws)
    assert claim(ws, queued.id, 0, now, policy), "a worker claims it ... and dies"
    assert not claim(ws, queued.id, 0, now, policy), "a second claim of the same read fails"
    assert deliver_pending(ws, now=now).deliveries == () and hook.bodies == []
    later = deliver_pending(ws, now=now + lease(policy))
    (sent,) = later.deliveries
    assert (sent.state, sent.attempts, len(hook.bodies)) == ("sent", 2, 1)
    assert get_alert(ws, CHARTER, alert.id).deliveries[-1].ok


def test_a_route_changed_in_the_charter_before_sending_fails_clearly(
    ws: Workspace, workspace_dir: Path, hook: Hook
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    alert = _raise(ws)
    charter_file = workspace_dir / "charters" / f"{CHARTER}.yaml"
    moved = charter_file.read_text().replace(hook.url, "https://hooks.example/elsewhere")
    charter_file.write_text(moved)  # the route now points elsewhere: not the one raised for
    (failed,) = deliver_pending(ws).deliveries
    assert failed.state == "failed" and hook.bodies == []
    assert failed.error is not None and "no longer has this webhook route" in failed.error
    assert not get_alert(ws, CHARTER, alert.id).deliveries[-1].ok


def test_charter_run_sends_the_alerts_its_own_steps_raised_in_its_deliver_step(
    workspace_dir: Path, hook: Hook, cli: Any
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url, "on": ["step_failed"]}])
    shutil.rmtree(workspace_dir / "landing" / CHARTER, ignore_errors=True)  # ingest will fail
    result = cli("run", "--once", "--json")
    steps = {s["step"]: s for s in result.json()["steps"]}
    assert steps["ingest"]["status"] == "failed"
    assert list(steps)[-1] == "deliver" and steps["deliver"]["status"] == "ok"
    assert steps["deliver"]["details"]["sent"] == len(hook.bodies) >= 1
    assert all("step_failed" in json.dumps(body) for body in hook.bodies)


@pytest.mark.empty_database
def test_migration_0016_creates_the_outbox_as_the_tables_declare_and_downgrades(
    database_url: str,
) -> None:
    db = Database(database_url)
    declared = {c.name for c in AlertOutboxEntry.__table__.columns}
    with db.engine.connect() as conn:
        migrated = {c["name"] for c in sa.inspect(conn).get_columns("alert_outbox")}
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("alert_outbox")}
    assert migrated == declared
    assert "ix_alert_outbox_due" in indexes
    with db.engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0015")
    with db.engine.connect() as conn:
        assert "alert_outbox" not in sa.inspect(conn).get_table_names()
    db.dispose()
