"""Evidence packs (issue 15, point 7): deterministic, checkable without the database, tamper-evident,
reflecting only what the ledger had signed at ``--as-of``, with gaps said plainly."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.lifecycle.test_lifecycle_support import NAME, OWNER, Lab

from charter.settings import Settings
from charter.store.tables import AuditEntry
from charter.workspace import Workspace

from .conftest import RISK, entries_of, record, rewrite, story


def pack(cli: Any, out: Path, *args: str) -> dict[str, Any]:
    result = cli("evidence", "pack", NAME, "-o", str(out), *args, "--json")
    assert result.code == 0, result.stderr
    body = result.json()
    assert isinstance(body, dict)
    return body


def verify(cli: Any, path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("evidence", "verify", str(path), *args, "--json")
    return result.code, result.json()


def test_two_packs_of_the_same_store_are_byte_identical_and_verify(
    lab: Lab, cli: Any, tmp_path: Path
) -> None:
    story(lab)
    first = pack(cli, tmp_path / "a.zip")
    time.sleep(0.01)  # nothing in a pack depends on when it was written
    second = pack(cli, tmp_path / "b.zip")

    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert first["sha256"] == hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest()
    assert first == {**second, "file": first["file"]}
    code, report = verify(cli, tmp_path / "a.zip")
    assert code == 0, report
    assert report["ok"] is True and report["problems"] == []
    assert report["head_seq"] == first["head_seq"] == report["entries"]
    assert report["records_checked"] > 0
    # HMAC: only the key's holder can check the signatures, and the report says so
    assert (report["manifest_signature"], report["checkpoint_signature"]) == (
        "unchecked",
        "unchecked",
    )
    assert "--key-file" in report["key_note"]


def test_the_pack_holds_the_records_an_auditor_asks_for(lab: Lab, cli: Any, tmp_path: Path) -> None:
    live, candidate = story(lab)
    pack(cli, tmp_path / "p.zip")
    out = tmp_path / "p.zip"

    decisions = record(out, "records/decisions.json")["decisions"]
    (decision,) = decisions
    assert (decision["version"], decision["status"], decision["decided_by"]) == (
        candidate,
        "approved",
        OWNER,
    )
    assert decision["automatic"] is False
    assert decision["readiness_sha256"] and len(decision["readiness_sha256"]) == 64
    people = record(out, "records/people.json")
    assert people["owner"].startswith("Dana Ruiz <dana.ruiz@bank.example>")
    shadow = record(out, "records/shadow-and-challenger.json")["shadow"]
    assert shadow[str(candidate)]["batches_with_rows"] == 1  # the batch before it was registered
    assert [i["name"] for i in decision["shortfall"]] == ["shadow_batches"]
    assert decision["accepted_risk"] == RISK
    (override,) = record(out, "records/oversight.json")["overrides"]
    assert (override["by"], override["accepted_risk"]) == (OWNER, RISK)
    coverage = record(out, "records/coverage.json")
    assert sum(d["predictions"] for d in coverage["days"]) == 10 * lab.batches
    assert coverage["file_states"] == {"intact": lab.batches}
    assert "predictions: kept for ever" in coverage["retention"]["statement"]
    oversight = record(out, "records/oversight.json")
    assert {(c["version"], c["to"]) for c in oversight["status_changes"]} >= {
        (live, "standby"),
        (candidate, "live"),
    }
    html = entries_of(out, "index.html").decode()
    assert "Evidence pack: credit-default" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    manifest = json.loads(entries_of(out, "manifest.json"))
    assert set(manifest["files"]) >= {"index.html", "ledger/entries.jsonl", "crosswalk.json"}


def test_verify_names_a_tampered_record_file(lab: Lab, cli: Any, tmp_path: Path) -> None:
    story(lab)
    pack(cli, tmp_path / "p.zip")

    def forge(files: dict[str, bytes]) -> None:
        files["records/decisions.json"] = files["records/decisions.json"].replace(
            OWNER.encode(), b"lee.chen@bank.example"
        )

    code, report = verify(cli, rewrite(tmp_path / "p.zip", tmp_path / "t.zip", forge))

    assert code == 4
    assert report["ok"] is False
    assert report["problems"] == [
        {
            "file": "records/decisions.json",
            "problem": "records/decisions.json was altered: its SHA-256 no longer matches the "
            "manifest",
        }
    ]
    human = cli("evidence", "verify", str(tmp_path / "t.zip"))
    assert human.code == 4
    assert "TAMPERED records/decisions.json" in human.stdout


def _forge_entry_and_manifest(files: dict[str, bytes]) -> None:
    """Edit one ledger entry and fix the manifest's hash of the file (and the signed message),
    as a forger without the key would: only the chain can tell."""
    lines = files["ledger/entries.jsonl"].decode().splitlines()
    entry = json.loads(lines[2])
    entry["actor"] = "mallory@bank.example"
    lines[2] = json.dumps(entry, sort_keys=True)
    files["ledger/entries.jsonl"] = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["ledger/entries.jsonl"]["sha256"] = hashlib.sha256(
        files["ledger/entries.jsonl"]
    ).hexdigest()
    files["manifest.json"] = (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode()
    signature = json.loads(files["signature.json"])
    signature["message"] = (
        "charter-evidence-pack|" + hashlib.sha256(files["manifest.json"]).hexdigest()
    )
    files["signature.json"] = json.dumps(signature).encode()


def test_verify_catches_a_tampered_ledger_excerpt(
    lab: Lab, cli: Any, tmp_path: Path, ws: Workspace
) -> None:
    story(lab)
    pack(cli, tmp_path / "p.zip")
    forged = rewrite(tmp_path / "p.zip", tmp_path / "t.zip", _forge_entry_and_manifest)

    code, report = verify(cli, forged)

    assert code == 4
    problems = {(p["file"], p["problem"]) for p in report["problems"]}
    assert any(
        file == "ledger/entries.jsonl"
        and problem.startswith("entry 3 (")
        and "was altered: its content no longer matches its hash" in problem
        for file, problem in problems
    ), problems
    # with the key, the manifest's signature gives the forged manifest away as well
    code, keyed = verify(cli, forged, "--key-file", str(ws.audit_key_file))
    assert code == 4
    assert keyed["manifest_signature"] == "invalid"
    assert any(p["file"] == "signature.json" for p in keyed["problems"])


def test_a_removed_ledger_entry_is_caught(lab: Lab, cli: Any, tmp_path: Path) -> None:
    story(lab)
    pack(cli, tmp_path / "p.zip")

    def drop(files: dict[str, bytes]) -> None:
        lines = files["ledger/entries.jsonl"].decode().splitlines()
        files["ledger/entries.jsonl"] = ("\n".join(lines[:3] + lines[4:]) + "\n").encode()

    code, report = verify(cli, rewrite(tmp_path / "p.zip", tmp_path / "t.zip", drop))
    assert code == 4
    assert any("entry 4 is missing from the excerpt" in p["problem"] for p in report["problems"]), (
        report["problems"]
    )


def test_with_the_hmac_key_both_signatures_are_checked(
    lab: Lab, cli: Any, tmp_path: Path, ws: Workspace
) -> None:
    story(lab)
    pack(cli, tmp_path / "p.zip")

    code, report = verify(cli, tmp_path / "p.zip", "--key-file", str(ws.audit_key_file))
    assert code == 0, report
    assert (report["manifest_signature"], report["checkpoint_signature"]) == ("valid", "valid")

    other = tmp_path / "other.key"
    other.write_text("ab" * 32 + "\n")
    code, wrong = verify(cli, tmp_path / "p.zip", "--key-file", str(other))
    assert code == 4
    assert wrong["manifest_signature"] == "invalid"
    assert wrong["checkpoint_signature"] == "invalid"


def test_an_ed25519_pack_verifies_with_its_public_key(
    workspace_dir: Path, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_AUDIT_ALGORITHM", "ed25519")
    ws = Workspace(workspace_dir, settings=Settings())
    try:
        lab = Lab(ws)
        lab.charter()
        story(lab)
        public = tmp_path / "public.hex"
        public.write_text(ws.ledger.key.public_hex() + "\n")
    finally:
        ws.close()
    pack(cli, tmp_path / "p.zip")

    code, carried = verify(cli, tmp_path / "p.zip")
    assert code == 0, carried
    assert carried["checkpoint_signature"] == "valid"
    assert carried["manifest_signature"] == "valid"
    assert "carried in the pack" in carried["key_note"]
    code, pinned = verify(cli, tmp_path / "p.zip", "--key-file", str(public))
    assert code == 0, pinned
    assert (pinned["manifest_signature"], pinned["checkpoint_signature"]) == ("valid", "valid")


def test_as_of_excludes_what_the_ledger_signed_later(
    lab: Lab, cli: Any, tmp_path: Path, ws: Workspace
) -> None:
    lab.model(status="live")
    lab.batch()
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    lab.batch()
    lab.batch()
    with ws.db.read() as session:
        last_before = session.scalar(
            sa.select(sa.func.max(AuditEntry.seq)).where(
                AuditEntry.recorded_at <= moment.isoformat()
            )
        )
        total = session.scalar(sa.select(sa.func.max(AuditEntry.seq)))
    assert last_before is not None and total is not None and total > last_before

    body = pack(cli, tmp_path / "then.zip", "--as-of", moment.isoformat())

    assert body["head_seq"] == last_before
    assert body["as_of"] == moment.isoformat()
    lines = entries_of(tmp_path / "then.zip", "ledger/entries.jsonl").decode().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, last_before + 1))
    data = record(tmp_path / "then.zip", "records/data-contract.json")
    assert data["totals"]["batches"] == 1
    coverage = record(tmp_path / "then.zip", "records/coverage.json")
    assert sum(d["predictions"] for d in coverage["days"]) == 10
    code, report = verify(cli, tmp_path / "then.zip")
    assert code == 0, report
    now = pack(cli, tmp_path / "now.zip")
    assert now["head_seq"] == total
    assert record(tmp_path / "now.zip", "records/data-contract.json")["totals"]["batches"] == 3


def test_the_crosswalk_lists_a_gap_when_no_decision_exists(
    lab: Lab, cli: Any, tmp_path: Path
) -> None:
    lab.model(status="live")  # put live by hand: nobody decided
    lab.batch()

    body = pack(cli, tmp_path / "p.zip")

    clauses = {(c["framework"], c["clause"]): c for c in body["crosswalk"]}
    assert len(clauses) == 10
    deployment = clauses[("iso-42001", "A.6.2.5")]
    assert deployment["status"] == "gap"
    assert "no promotion decided by a person: no decision names an approver" in deployment["gaps"]
    assert "no promotion gate checklist was recorded" in deployment["gaps"]
    assert clauses[("sr-26-2", "owner accountability")]["status"] == "gap"
    assert clauses[("iso-42001", "A.3.2")]["status"] == "met"  # the owner is named
    written = json.loads(entries_of(tmp_path / "p.zip", "crosswalk.json"))["clauses"]
    assert [c["status"] for c in written] == [c["status"] for c in body["crosswalk"]]
    human = cli("evidence", "pack", NAME, "-o", str(tmp_path / "h.zip"))
    assert "gap iso-42001 A.6.2.5: no promotion decided by a person" in human.stdout


def test_one_framework_only(lab: Lab, cli: Any, tmp_path: Path) -> None:
    story(lab)
    body = pack(cli, tmp_path / "p.zip", "--framework", "sr-26-2")
    assert {c["framework"] for c in body["crosswalk"]} == {"sr-26-2"}
    assert body["frameworks"] == ["sr-26-2"]


def test_bad_requests_say_what_is_wrong(lab: Lab, cli: Any, tmp_path: Path) -> None:
    story(lab)
    out = str(tmp_path / "p.zip")
    bad_framework = cli("evidence", "pack", NAME, "-o", out, "--framework", "gdpr")
    assert bad_framework.code == 1
    assert "--framework 'gdpr' is not a framework" in bad_framework.stderr
    bad_time = cli("evidence", "pack", NAME, "-o", out, "--as-of", "last tuesday")
    assert bad_time.code == 2
    assert "'last tuesday' is not a date or time" in bad_time.stderr
    too_early = cli("evidence", "pack", NAME, "-o", out, "--as-of", "2000-01-01")
    assert too_early.code == 1
    assert "the ledger has no entry signed at or before 2000-01-01" in too_early.stderr
    unknown = cli("evidence", "pack", "no-such-model", "-o", out)
    assert unknown.code == 1
    assert "no entry about charter 'no-such-model'" in unknown.stderr
    not_a_pack = tmp_path / "x.zip"
    not_a_pack.write_text("hello")
    result = cli("evidence", "verify", str(not_a_pack))
    assert result.code == 1
    assert "is not a readable zip archive" in result.stderr


def test_terms_replaced_since_are_rebuilt_from_the_ledgers_diff(
    lab: Lab, cli: Any, tmp_path: Path
) -> None:
    lab.model(status="live")
    lab.batch()
    time.sleep(0.01)
    before_change = datetime.now(UTC)
    time.sleep(0.01)
    lab.charter(auc=0.75)  # a governed change while a version is live: it waits for the owner
    assert cli("accept-change", NAME, "--as", OWNER).code == 0

    pack(cli, tmp_path / "then.zip", "--as-of", before_change.isoformat())
    pack(cli, tmp_path / "now.zip")

    then = record(tmp_path / "then.zip", "records/sufficiency.json")["contract"]
    now = record(tmp_path / "now.zip", "records/sufficiency.json")["contract"]
    assert (then["metrics"][0]["at_least"], now["metrics"][0]["at_least"]) == (0.7, 0.75)
    found = record(tmp_path / "then.zip", "records/charter-history.json")
    assert found["terms_in_force_found"] == "reconstructed"
    assert (
        record(tmp_path / "now.zip", "records/charter-history.json")["terms_in_force_found"]
        == "kept"
    )
    rebuilt = json.loads(entries_of(tmp_path / "then.zip", "charter/terms-in-force.json"))
    assert rebuilt["owner"]["email"] == OWNER
    (change,) = record(tmp_path / "now.zip", "records/charter-history.json")["changes"]
    assert change["diff"] == [{"path": "sufficiency.metrics[0].at_least", "old": 0.7, "new": 0.75}]
    assert (change["status"], change["decided_by"]) == ("accepted", OWNER)


def test_a_removed_signature_or_a_corrupted_entry_is_named(
    lab: Lab, cli: Any, tmp_path: Path
) -> None:
    story(lab)
    pack(cli, tmp_path / "p.zip")

    def unsign(files: dict[str, bytes]) -> None:
        del files["signature.json"]

    code, report = verify(cli, rewrite(tmp_path / "p.zip", tmp_path / "u.zip", unsign))
    assert code == 4
    assert report["problems"] == [
        {
            "file": "signature.json",
            "problem": "signature.json is missing from the pack: it was removed",
        }
    ]

    data = bytearray((tmp_path / "p.zip").read_bytes())
    start = data.index(b"records/alerts.json") + len(b"records/alerts.json")
    data[start + 5] ^= 0xFF  # a byte of that entry's compressed data
    (tmp_path / "c.zip").write_bytes(bytes(data))
    result = cli("evidence", "verify", str(tmp_path / "c.zip"))
    assert result.code == 4
    assert "records/alerts.json is damaged and cannot be read" in result.stderr
