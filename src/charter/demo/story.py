"""The demo story, one chapter per step of a model's life. Later chapters grow with the product.

Everything runs through the same Python API a user calls; nothing here is demo-only logic beyond
generating the data and the model.
"""

from __future__ import annotations

import importlib.resources
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import polars as pl

from charter.demo.data import FEATURES, applications
from charter.demo.model import auc, train
from charter.errors import WorkspaceError
from charter.settings import Settings
from charter.workspace import Workspace

MARKER = ".charter-demo"
CHARTER = "credit-default"
TRAINING_START = datetime(2026, 8, 1, tzinfo=UTC)
LIVE_START = datetime(2026, 10, 1, tzinfo=UTC)

Narrate = Callable[[str, str], None]


@dataclass
class DemoReport:
    """What the demo did, for the summary and for scripts (``charter demo --json``)."""

    workspace: str
    charter: str = CHARTER
    chapters: list[dict[str, Any]] = field(default_factory=list)

    def add(self, title: str, **facts: Any) -> dict[str, Any]:
        chapter = {"chapter": title, **facts}
        self.chapters.append(chapter)
        return chapter

    def to_dict(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "charter": self.charter, "chapters": self.chapters}


def prepare_workspace(root: Path) -> Path:
    """Create ``root`` for the demo; replace an earlier demo there, refuse anything else."""
    root = root.expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise WorkspaceError(
                f"{root} exists and is not a charter demo workspace; refusing to overwrite it",
                hint="Pass --workspace with an empty or new folder.",
            )
        for child in root.iterdir():  # empty it, but keep the folder: it may be the cwd
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by `charter demo`; safe to delete\n")
    return root


def run_demo(root: Path, narrate: Narrate, *, settings: Settings | None = None) -> DemoReport:
    root = prepare_workspace(root)
    ws = Workspace(root, settings=settings or Settings(workspace=root))
    report = DemoReport(workspace=str(root))
    try:
        _charter(ws, report, narrate)
        model_path, training_path = _training(ws, report, narrate)
        _registration(ws, report, narrate, model_path, training_path)
        _live_days(ws, report, narrate)
        _weeks_live(ws, report, narrate)
        _audit(ws, report, narrate)
    finally:
        ws.close()
    return report


# -- chapters ------------------------------------------------------------------------------
def _charter(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    text = (importlib.resources.files("charter.demo") / "charter.yaml").read_text()
    ws.charters_dir.mkdir(parents=True, exist_ok=True)
    path = ws.charters_dir / f"{CHARTER}.yaml"
    path.write_text(text)
    loaded = ws.load(CHARTER)
    charter = loaded.charter
    rules = ", ".join(
        f"{m.metric} >= {m.threshold}" + (f" in {m.segment}" if m.segment else "")
        for m in charter.sufficiency.metrics
    )
    narrate(
        "Charter",
        f"{path.relative_to(ws.root)}: owner {charter.owner.name} <{charter.owner.email}>; "
        f"sufficient when {rules} over {charter.sufficiency.window.days}-day windows "
        f"with at least {charter.sufficiency.min_labels} labels",
    )
    report.add("charter", file=str(path), owner=charter.owner.email, sha256=loaded.sha256)


def _training(ws: Workspace, report: DemoReport, narrate: Narrate) -> tuple[Path, Path]:
    data_dir, model_dir = ws.root / "data", ws.root / "models"
    data_dir.mkdir(exist_ok=True)
    model_dir.mkdir(exist_ok=True)
    frame = applications(20_000, seed=7, start=TRAINING_START, span=timedelta(days=60))
    holdout = applications(
        5_000,
        seed=8,
        start=TRAINING_START + timedelta(days=55),
        span=timedelta(days=5),
        id_offset=900_000,
    )
    training_path = data_dir / "training.parquet"
    frame.write_parquet(training_path)
    pipeline = train(frame)
    holdout.write_parquet(data_dir / "reference.parquet")
    model_path = model_dir / f"{CHARTER}-v1.joblib"
    joblib.dump(pipeline, model_path)
    offline_auc = auc(pipeline, holdout)
    default_rate = float(frame["defaulted"].to_numpy().mean())
    narrate(
        "Training",
        f"{frame.height:,} historical applications ({default_rate:.1%} defaulted); "
        f"logistic regression on {len(FEATURES)} inputs; offline ROC AUC {offline_auc:.3f}",
    )
    report.add(
        "training", rows=frame.height, offline_roc_auc=round(offline_auc, 4), model=str(model_path)
    )
    return model_path, training_path


def _registration(
    ws: Workspace, report: DemoReport, narrate: Narrate, model_path: Path, training_path: Path
) -> None:
    from charter.registry.versions import register_version

    info = register_version(
        ws,
        CHARTER,
        model_path,
        training_data=training_path,
        metadata={"trained_by": "charter demo"},
    )
    narrate(
        "Registration",
        f"version {info.version} stored as sha256 {info.sha256[:12]}… (flavor {info.flavor}, "
        f"status {info.status}), with the training data's fingerprint as lineage",
    )
    report.add("registration", version=info.version, sha256=info.sha256, status=info.status)
    from charter.monitoring.reference import set_reference

    set_reference(ws, CHARTER, info.version, ws.root / "data" / "reference.parquet")
    narrate(
        "Reference",
        "5,000 labelled hold-out applications, scored by version 1 and summarised once: the "
        "baseline for drift and the calibration for estimated performance",
    )


def _live_days(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """Five days of live applications, with what real pipelines deliver: a clean day, late rows,
    resent rows and broken values, a truncated file, and an upstream column rename."""
    from charter.plumbing.ingest import ingest

    landing = ws.root / "landing" / "applications"
    landing.mkdir(parents=True, exist_ok=True)
    labels_dir = ws.root / "data" / "labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    days = [
        applications(
            2_000,
            seed=100 + d,
            start=LIVE_START + timedelta(days=d),
            span=timedelta(days=1),
            id_offset=1_000_000 + 10_000 * d,
        )
        for d in range(5)
    ]
    outcomes = pl.concat([d.select("application_id", "defaulted") for d in days])
    outcomes.write_parquet(labels_dir / "outcomes-2026-10.parquet")
    live = [d.drop("defaulted") for d in days]

    live[0].write_parquet(landing / "2026-10-01.parquet")
    _ingest_and_tell(ws, narrate, report, ingest, "Day 1", "a clean day")

    late = (
        live[0]
        .head(40)
        .with_columns(
            pl.col("application_id").str.replace("APP-01", "APP-91"),
        )
    )
    pl.concat([live[1], late]).write_parquet(landing / "2026-10-02.parquet")
    _ingest_and_tell(
        ws, narrate, report, ingest, "Day 2", "40 applications submitted a day earlier arrive late"
    )

    resent = live[1].slice(100, 25)
    broken = (
        live[2]
        .head(30)
        .with_columns(
            income=pl.when(pl.int_range(pl.len()) < 10).then(-1.0).otherwise(pl.col("income")),
            employment=pl.when(pl.int_range(pl.len()).is_between(10, 19))
            .then(pl.lit("student"))
            .otherwise(pl.col("employment")),
            age=pl.when(pl.int_range(pl.len()) >= 20).then(150).otherwise(pl.col("age")),
        )
    )
    pl.concat([live[2].slice(30), broken, resent]).write_parquet(landing / "2026-10-03.parquet")
    _ingest_and_tell(
        ws,
        narrate,
        report,
        ingest,
        "Day 3",
        "25 rows of day 2 are sent again and 30 carry impossible values",
    )

    live[3].write_parquet(landing / "2026-10-04.parquet")
    (landing / "2026-10-04.parquet").write_bytes(
        (landing / "2026-10-04.parquet").read_bytes()[:4096]
    )
    _ingest_and_tell(
        ws,
        narrate,
        report,
        ingest,
        "Day 4",
        "the upstream job dies halfway through writing its file",
    )

    live[4].rename({"debt_ratio": "dti"}).write_parquet(landing / "2026-10-05.parquet")
    _ingest_and_tell(
        ws,
        narrate,
        report,
        ingest,
        "Day 5",
        "upstream renames debt_ratio to dti without telling anyone",
    )

    from charter.plumbing.labels import ingest_labels

    labelled = ingest_labels(ws, CHARTER, labels_dir / "outcomes-2026-10.parquet").to_dict()
    narrate(
        "Ground truth",
        f"{labelled['rows_in']:,} outcomes arrive weeks later and are recorded; "
        f"{labelled['unknown_keys']:,} belong to applications with no logged prediction "
        f"(quarantined or in the unreadable file) and wait for them; "
        f"{labelled['coverage']:.0%} of logged predictions now have their outcome",
    )
    report.add(
        "labels", **{k: labelled[k] for k in ("rows_in", "labels_new", "unknown_keys", "coverage")}
    )


def _ingest_and_tell(
    ws: Workspace,
    narrate: Narrate,
    report: DemoReport,
    ingest: Callable[..., Any],
    day: str,
    what: str,
) -> None:
    result = ingest(ws, CHARTER).to_dict()
    told = [f"{what}:"]
    for batch in result["batches"]:
        told.append(
            f"{batch['rows_in']:,} in = {batch['rows_scored']:,} scored + "
            f"{batch['rows_quarantined']:,} quarantined ({batch['rows_late']:,} late)"
        )
        rules = batch.get("violations") or {}
        if rules:
            told.append(
                "broken rules: " + ", ".join(f"{rule} x{count}" for rule, count in rules.items())
            )
        for change in batch.get("schema_changes") or []:
            told.append(f"schema {change['kind']}: {change['column']}")
    for failed in result["files_failed"]:
        told.append(f"file failed and kept for retry: {failed['error']}")
    narrate(day, " ".join(told))
    report.add(
        day.lower().replace(" ", "_"),
        **{k: result[k] for k in ("rows_in", "rows_scored", "rows_quarantined", "rows_late")},
        files_failed=result["files_failed"],
    )


# Weeks after the first: the population drifts slowly and what drives default moves away from
# what the model learnt; in the last week an upstream change starts reporting income in thousands.
WEEKS = [  # (window start, population shift, concept drift, income in thousands)
    (datetime(2026, 10, 8, tzinfo=UTC), 0.0, 0.0, False),
    (datetime(2026, 10, 15, tzinfo=UTC), 0.1, 0.15, False),
    (datetime(2026, 10, 22, tzinfo=UTC), 0.2, 0.3, False),
    (datetime(2026, 10, 29, tzinfo=UTC), 0.3, 0.45, False),
    (datetime(2026, 11, 5, tzinfo=UTC), 0.4, 0.5, True),
]


def _weeks_live(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    from charter.monitoring.service import monitor
    from charter.plumbing.ingest import ingest
    from charter.plumbing.labels import ingest_labels

    landing = ws.root / "landing" / "applications"
    outcomes = []
    for week, (start, shift, concept, thousands) in enumerate(WEEKS, start=2):
        frame = applications(
            7_000,
            seed=200 + week,
            start=start,
            span=timedelta(days=7),
            shift=shift,
            concept=concept,
            id_offset=2_000_000 + 100_000 * week,
        )
        if thousands:
            frame = frame.with_columns(pl.col("income") / 1000)
        outcomes.append(frame.select("application_id", "defaulted"))
        frame.drop("defaulted").write_parquet(landing / f"{start:%Y-%m-%d}-week.parquet")
        ingest(ws, CHARTER)
    labels_path = ws.root / "data" / "labels" / "outcomes-2026-11.parquet"
    pl.concat(outcomes).write_parquet(labels_path)
    ingest_labels(ws, CHARTER, labels_path)
    result = monitor(ws, CHARTER)
    from charter.operations.window_alerts import alert_on_windows

    alerts = alert_on_windows(ws, CHARTER, result.windows)
    for window in result.windows:
        data = window.to_dict()
        rules = "; ".join(
            f"{r['metric']}{' in ' + r['segment'] if r['segment'] else ''} "
            f"{_number(r.get('value'))} ({r['status']})"
            for r in data["rules"]
        )
        drifted = ", ".join(data.get("drifted") or []) or "none"
        narrate(
            f"Week of {window.start:%d %b}",
            f"verdict {data['verdict'].upper()}: {rules}; inputs drifted: {drifted}",
        )
        report.add(
            "window",
            start=data["start"],
            verdict=data["verdict"],
            rules={f"{r['metric']}|{r['segment'] or ''}": r["status"] for r in data["rules"]},
            drifted=data.get("drifted") or [],
        )
    for alert in alerts:
        narrate("Alert", f"[{alert.severity}] {alert.message}")
    report.add("alerts", events=sorted(a.event for a in alerts))


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "n/a"


def _audit(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    verdict = ws.ledger.verify()
    narrate(
        "Audit",
        f"{verdict.entries} ledger entries, hash chain and {verdict.checkpoints} signed checkpoints "
        + ("intact" if verdict.ok else f"BROKEN at {verdict.first_bad}"),
    )
    report.add("audit", **verdict.to_dict())
