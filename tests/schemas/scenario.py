"""One demo workspace driven through every command with ``--json``: the outputs users' scripts see.

The demo (``charter demo``) leaves a workspace with every kind of state: versions in each status,
decisions, alerts, quarantined rows and labels, a changed charter. :func:`run_scenario` then runs
each command a script might run, in an order that reaches every result (a retrain, a promotion
decided, a rollback, a token's life), and keeps each output with its exit code.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charter.cli.main import main

CHARTER = "credit-default"
OWNER = "dana.ruiz@bank.example"


@dataclass(frozen=True)
class Output:
    """One command's ``--json`` output."""

    name: str
    args: tuple[str, ...]
    code: int
    data: Any


def shape(value: Any) -> Any:
    """The key structure and JSON types of ``value``, without the values that vary by run.

    Objects keep their keys; a list becomes the distinct shapes of its items (sorted, so the order
    of rows does not matter); every scalar becomes the name of its JSON type.
    """
    if isinstance(value, dict):
        return {key: shape(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        shapes = {json.dumps(shape(item), sort_keys=True): shape(item) for item in value}
        return [shapes[key] for key in sorted(shapes)]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    assert isinstance(value, str), type(value)
    return "string"


@contextlib.contextmanager
def _environment(root: Path) -> Iterator[None]:
    """The demo keeps its state in its workspace: no CHARTER_* from the caller, no settle wait."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("CHARTER_")}
    for key in saved:
        del os.environ[key]
    os.environ["CHARTER_INGEST_SETTLE"] = "0"
    os.environ["CHARTER_ACTOR"] = "tester@example.com"
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("CHARTER_")]:
            del os.environ[key]
        os.environ.update(saved)


def _run(
    outputs: dict[str, Output], root: Path, name: str, *args: str, workspace: Path | None
) -> Output:
    out, err = io.StringIO(), io.StringIO()
    argv = [*(["-w", str(workspace)] if workspace else []), *args, "--json"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    text = out.getvalue() if out.getvalue().strip() else err.getvalue()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{name}: not JSON (exit {code}):\n{text}\n{err.getvalue()}") from exc
    shown = tuple(a.replace(str(root), "ROOT") for a in args)  # the same in every run
    outputs[name] = Output(name, shown, code, data)
    return outputs[name]


def run_scenario(root: Path) -> dict[str, Output]:
    """Build the demo under ``root`` and run every command on it; outputs by case name."""
    ws = root / "demo"
    outputs: dict[str, Output] = {}
    with _environment(root):

        def run(name: str, *args: str) -> Output:
            return _run(outputs, root, name, *args, workspace=ws)

        demo = _run(outputs, root, "demo", "demo", "--workspace", str(ws), workspace=None)
        assert demo.code == 0, demo.data
        run("check", "check")
        run("check_bad", "check", "no-such-charter")
        run("status", "status", CHARTER, "--last", "3")
        run("monitor", "monitor", CHARTER)
        run("versions", "versions", CHARTER)
        run("decisions", "decisions", CHARTER, "--all")
        run("changes", "changes", CHARTER)
        run("readiness", "readiness", CHARTER, "2")
        run("review", "review", CHARTER)
        run("audit_verify", "audit", "verify")
        run("audit_export", "audit", "export", "-o", str(root / "audit.jsonl"))
        run("evidence_pack", "evidence", "pack", CHARTER, "-o", str(root / "pack.zip"))
        run("evidence_verify", "evidence", "verify", str(root / "pack.zip"))
        run("purge", "purge", CHARTER, "--before", "2001-01-01", "--dry-run")
        run("audit_keys_list", "audit", "keys", "list")
        run("audit_keys_export", "audit", "keys", "export")
        run("audit_keys_rotate", "audit", "keys", "rotate")
        run("quarantine_list", "quarantine", CHARTER, "list")
        run("quarantine_show", "quarantine", CHARTER, "show", "--limit", "3")
        run("quarantine_labels", "quarantine", CHARTER, "labels", "--limit", "3")
        key = _a_labelled_key(ws)
        run("label_history", "label-history", CHARTER, key)
        run("trace", "trace", CHARTER, "--key", key)
        run("alerts_list", "alerts", CHARTER, "list", "--status", "all")
        open_alerts = run("alerts_open", "alerts", CHARTER, "list").data["alerts"]
        run("alerts_ack", "alerts", CHARTER, "ack", str(open_alerts[0]["id"]))
        run("alerts_resolve", "alerts", CHARTER, "resolve", str(open_alerts[0]["id"]))
        run("alerts_test", "alerts", "test", CHARTER)
        run("alerts_deliver", "alerts", "deliver", CHARTER, "--once")
        run("report", "report", CHARTER, "--html", str(root / "report.html"))
        run("reference", "reference", CHARTER, "2", str(ws / "data" / "reference.parquet"))
        run("contract_export", "contract", "export", CHARTER, "-o", str(root / "c.odcs.yaml"))
        run("contract_test", "contract", "test", CHARTER, _a_live_file(ws))
        run("ingest", "ingest", CHARTER)
        run("rescore", "rescore", CHARTER)
        run("labels", "labels", CHARTER, str(sorted((ws / "data" / "labels").glob("*"))[0]))
        run("quarantine_replay", "quarantine", CHARTER, "replay")
        run("run_once", "run", "--once", "--charter", CHARTER)
        retrained = run("retrain", "retrain", CHARTER).data
        new = str(retrained.get("version") or 4)
        run("promote", "promote", CHARTER, new)
        run("approve", "approve", CHARTER, new, "--as", OWNER, "--accept-risk", "a test")
        run("rollback", "rollback", CHARTER, "--reason", "a test")
        model = _a_new_model_file(ws)
        registered = run("register", "register", CHARTER, model, "--param", "c=2").data
        other = str(registered.get("version") or 5)
        run("shadow", "shadow", CHARTER, other)
        run("promote_opened", "promote", CHARTER, other)
        run("reject", "reject", CHARTER, other, "--as", OWNER, "--reason", "a test")
        run("retire", "retire", CHARTER, other, "--as", OWNER)
        run("authorize", "authorize", CHARTER, "--as", OWNER, "--auto-if-sufficient")
        run("authorize_revoke", "authorize", CHARTER, "--as", OWNER, "--revoke")
        token = run("tokens_create", "tokens", "create", "--as", OWNER, "--role", "owner").data
        run("tokens_list", "tokens", "list", "--all")
        run("tokens_revoke", "tokens", "revoke", str(token.get("id", 1)))
        run("lake_clean", "lake", "clean", CHARTER)
        run("lake_migrate", "lake", "migrate", "--to", str(root / "lake"))
        run("suspend", "suspend", CHARTER, "--as", OWNER, "--reason", "a test")
        run("status_suspended", "status", CHARTER)
        run("resume", "resume", CHARTER, "--as", OWNER)
        run("init", "init", "other-model")
        run("contract_import", "contract", "import", str(root / "c.odcs.yaml"), "imported-model")
        run("schema", "schema")
    return outputs


def _a_labelled_key(ws: Path) -> str:
    import polars as pl

    files = sorted((ws / "data" / "labels").glob("*.parquet"))
    return str(pl.read_parquet(files[0])["application_id"][0])


def _a_new_model_file(ws: Path) -> str:
    """The demo's first model saved again, compressed: the same model, a new artifact hash."""
    import joblib

    path = ws / "models" / "credit-default-copy.joblib"
    joblib.dump(joblib.load(ws / "models" / "credit-default-v1.joblib"), path, compress=3)
    return str(path)


def _a_live_file(ws: Path) -> str:
    """A landing file of the demo's, to try the contract on (the dry run changes nothing)."""
    return str(sorted((ws / "landing").rglob("*.parquet"))[0])
