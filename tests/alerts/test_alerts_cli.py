"""``charter alerts``: both word orders, JSON output, exit codes, and test fires the gate can see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charter.alerts.raising import last_successful_test, raise_alert
from charter.workspace import Workspace

from .conftest import CHARTER, Hook, Inbox, set_routes


def _raise(ws: Workspace, window: str = "2026-W47") -> int:
    alert = raise_alert(
        ws,
        CHARTER,
        event="breach",
        rule="sufficiency.roc_auc",
        window=window,
        severity="critical",
        message="roc_auc 0.71 is below the agreed 0.75",
        details={},
    )
    return alert.id


def test_list_ack_resolve_in_the_issue_word_order(cli: Any, ws: Workspace) -> None:
    first, second = _raise(ws), _raise(ws, "2026-W48")
    listed = cli("alerts", CHARTER, "list", "--json")
    assert listed.code == 0
    assert [a["id"] for a in listed.json()["alerts"]] == [second, first]
    assert listed.json()["alerts"][0]["deliveries"][0]["route"] == "log"

    acked = cli(
        "alerts",
        CHARTER,
        "ack",
        str(first),
        "--as",
        "oncall@bank.example",
        "--note",
        "on it",
        "--json",
    )
    assert acked.code == 0
    assert (acked.json()["status"], acked.json()["acked_by"], acked.json()["ack_note"]) == (
        "acked",
        "oncall@bank.example",
        "on it",
    )
    resolved = cli("alerts", CHARTER, "resolve", str(first), "--note", "retrained")
    assert resolved.code == 0, resolved.stderr
    assert resolved.stdout.strip() == f"alert {first} of {CHARTER} resolved by tester@example.com"

    assert [a["id"] for a in cli("alerts", CHARTER, "list", "--json").json()["alerts"]] == [second]
    everything = cli("alerts", CHARTER, "list", "--status", "all", "--json").json()["alerts"]
    assert {a["id"]: a["status"] for a in everything} == {first: "resolved", second: "open"}
    assert cli("audit", "verify").code == 0


def test_the_command_first_word_order_works_too(cli: Any, ws: Workspace) -> None:
    alert_id = _raise(ws)
    assert cli("alerts", "list", CHARTER, "--json").json()["alerts"][0]["id"] == alert_id
    assert cli("alerts", "ack", CHARTER, str(alert_id)).code == 0


def test_the_human_listing_shows_the_essentials(cli: Any, ws: Workspace) -> None:
    assert cli("alerts", CHARTER, "list").stdout.strip() == f"{CHARTER}: no open alerts"
    alert_id = _raise(ws)
    _raise(ws)
    out = cli("alerts", CHARTER, "list").stdout
    assert str(alert_id) in out and "critical" in out and "2x" in out and "2026-W47" in out


def test_refusals_exit_1_with_a_clear_message(cli: Any, ws: Workspace) -> None:
    alert_id = _raise(ws)
    unknown = cli("alerts", CHARTER, "ack", "999", "--json")
    assert unknown.code == 1
    assert unknown.json()["error"]["type"] == "AlertNotFoundError"
    assert unknown.json()["error"]["message"] == f"charter '{CHARTER}' has no alert 999"

    missing = cli("alerts", "no-such-charter", "list")
    assert missing.code == 1 and "no charter named 'no-such-charter'" in missing.stderr

    assert cli("alerts", CHARTER, "resolve", str(alert_id)).code == 0
    again = cli("alerts", CHARTER, "ack", str(alert_id))
    assert again.code == 1
    assert again.stderr.startswith(f"error: alert {alert_id} of {CHARTER} is already resolved")

    not_a_number = cli("alerts", CHARTER, "ack", "seven")
    assert not_a_number.code == 2
    bad_status = cli("alerts", CHARTER, "list", "--status", "closed")
    assert bad_status.code == 2


def test_alerts_test_fires_every_route_and_the_gate_can_see_it(
    cli: Any, ws: Workspace, workspace_dir: Path, hook: Hook, inbox: Inbox
) -> None:
    set_routes(
        workspace_dir,
        [
            {"route": "webhook", "url": hook.url, "on": ["breach"]},
            {"route": "email", "to": ["mlp@bank.example"], "on": ["stalled_decision"]},
            {"route": "log"},
        ],
    )
    assert last_successful_test(ws, CHARTER) is None
    fired = cli("alerts", "test", CHARTER, "--json")
    assert fired.code == 0, fired.stdout
    body = fired.json()
    assert body["ok"] is True
    assert [r["route"] for r in body["routes"]] == ["webhook", "email", "log"]
    assert all(r["test"] and r["ok"] for r in body["routes"])
    assert hook.bodies[0]["text"].startswith("[TEST] ")
    assert inbox.messages[0][2]["X-Charter-Test"] == "yes"
    last = last_successful_test(ws, CHARTER)
    assert last is not None and last.isoformat() == body["last_successful_test"]
    assert cli("alerts", CHARTER, "list", "--status", "all", "--json").json()["alerts"] == []
    assert cli("audit", "verify").code == 0


def test_alerts_test_exits_1_when_a_route_fails_and_records_it(
    cli: Any, ws: Workspace, workspace_dir: Path, hook: Hook
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    hook.then(500, 500, 500)
    failed = cli("alerts", "test", CHARTER)
    assert failed.code == 1
    assert "FAILED: HTTP 500: server says no (gave up after 3 attempts)" in failed.stdout
    assert f"{CHARTER}: 0 of 1 alert routes delivered the test alert" in failed.stdout
    assert last_successful_test(ws, CHARTER) is None
    assert cli("alerts", "test", CHARTER).code == 0
    assert last_successful_test(ws, CHARTER) is not None


def test_alerts_test_without_routes_says_what_to_add(cli: Any, workspace_dir: Path) -> None:
    set_routes(workspace_dir, [])
    result = cli("alerts", "test", CHARTER, "--json")
    assert result.code == 1
    assert result.json()["error"]["message"] == f"charter '{CHARTER}' has no alert routes to test"
    assert "operations.alerts" in result.json()["error"]["hint"]
