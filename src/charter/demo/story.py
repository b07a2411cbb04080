"""The demo story, one chapter per step of a model's life, from charter to audit.

Everything runs through the same Python API a user calls; nothing here is demo-only logic beyond
generating the data, the model and the decisions people make. The chapters: the charter and the
team's training code; training and registration (version 1 starts in shadow); the pilot on the
live pipeline and the owner's approval (:mod:`.pilot`); weeks in production with degradation,
retraining, promotion and an automatic rollback (:mod:`.operating`); the audit.
"""

from __future__ import annotations

import importlib.resources
import shutil
from datetime import timedelta
from pathlib import Path

import joblib

from charter.demo import operating, pilot
from charter.demo.common import CHARTER, TRAINING_START, DemoReport, Narrate
from charter.demo.data import FEATURES, applications
from charter.demo.model import auc, train
from charter.errors import WorkspaceError
from charter.settings import Settings
from charter.spec.windows import window_text
from charter.workspace import Workspace

MARKER = ".charter-demo"
TRAINING_CODE = '''"""The credit team's training code. charter calls fit() when a retraining trigger fires."""

import polars as pl

from charter.demo.model import train


def fit(window: pl.DataFrame):
    """Given the latest labelled window (inputs and `defaulted`), return a fitted pipeline."""
    return train(window)
'''


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
        pilot.live_days(ws, report, narrate)
        pilot.pilot_decision(ws, report, narrate)
        operating.weeks_live(ws, report, narrate)
        operating.retraining(ws, report, narrate, expected=2)
        operating.challenger_and_promotion(ws, report, narrate)
        operating.upstream_unit_change(ws, report, narrate)
        operating.unit_fixed(ws, report, narrate)
        _audit(ws, report, narrate)
        _evidence(ws, report, narrate)
    finally:
        ws.close()
    return report


# -- chapters ------------------------------------------------------------------------------
def _charter(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    text = (importlib.resources.files("charter.demo") / "charter.yaml").read_text()
    ws.charters_dir.mkdir(parents=True, exist_ok=True)
    path = ws.charters_dir / f"{CHARTER}.yaml"
    path.write_text(text)
    (ws.root / "training.py").write_text(TRAINING_CODE)
    loaded = ws.load(CHARTER)
    charter = loaded.charter
    rules = ", ".join(
        f"{m.metric} >= {m.threshold}" + (f" in {m.segment}" if m.segment else "")
        for m in charter.sufficiency.metrics
    )
    narrate(
        "Charter",
        f"{path.relative_to(ws.root)}: owner {charter.owner.name} <{charter.owner.email}>; "
        f"sufficient when {rules} over {window_text(charter.sufficiency)} windows "
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
    from charter.services.registry import register

    info = register(
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


def _audit(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    verdict = ws.ledger.verify()
    narrate(
        "Audit",
        f"{verdict.entries} ledger entries, hash chain and {verdict.checkpoints} signed checkpoints "
        + ("intact" if verdict.ok else f"BROKEN at {verdict.first_bad}"),
    )
    report.add("audit", **verdict.to_dict())


def evidence_pack_path(root: Path) -> Path:
    """Where the demo writes its evidence pack: beside the workspace, not inside it."""
    return root.parent / f"{root.name}-evidence.zip"


def _evidence(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    from charter.evidence.pack import write_pack

    pack = write_pack(ws, CHARTER, evidence_pack_path(ws.root))
    gaps = sum(1 for c in pack.crosswalk if c.status == "gap")
    narrate(
        "Evidence pack",
        f"{pack.file} ({len(pack.crosswalk)} clauses, {gaps} with gaps listed); open its "
        f"index.html, check it with `charter evidence verify {pack.file}`",
    )
    report.add(
        "evidence_pack", file=pack.file, sha256=pack.sha256, head_seq=pack.head_seq, gaps=gaps
    )
