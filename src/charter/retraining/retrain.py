"""Retraining: when a charter's trigger fires, train a challenger on live data and put it in shadow.

A live model degrades; the charter says when to react (``operations.retrain.when``) and which code
trains a replacement (``operations.retrain.entrypoint``). Triggers are judged on the monitoring
windows of the *live* version (:func:`charter.monitoring.service.latest_windows`):

- ``sufficiency_breach``: its latest window's contract verdict is ``breach``;
- ``drift_breach``: its latest window's judged drift status is ``breach``;
- ``schedule``: its newest window with enough labels has not been trained on yet, so a model is
  retrained once per window as windows fill with labels.

``charter retrain NAME`` (``manual=True``) trains on the newest labelled window without waiting
for a trigger. "Enough labels" is ``sufficiency.min_labels`` (at least one): the evidence the owner
agreed is needed to judge a window is also the least a model is trained on; a trigger that fires on
a window with fewer labels waits for them.

The entrypoint runs inside :mod:`.training` (what it is given, what it must return). Its model is
saved with joblib, registered with lineage (``metadata.retrain``: triggers, window, rows, parent
version; ``training_data``: the fingerprint of the window written as Parquet) and put in ``shadow``
with a ``retrain.completed`` ledger entry. From there it follows the same promotion gate as any
version. When the charter's monitoring reference is ``training``, the window it learned from becomes
its drift reference.

Nothing is done twice, nothing else changes on failure:

- a window is trained on at most once: the new version's lineage records it and every later run
  checks it; all triggers that fired on the window are recorded together;
- a failing entrypoint (does not import, raises, returns something that is not a model) registers
  nothing and leaves the live model as it was; the failure goes to the ledger (``retrain.failed``
  with the original cause) and out as a ``retrain_failed`` alert. Triggers do not retry a window
  that failed (one alert, not one per scheduler pass); ``charter retrain`` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from charter.alerts.raising import raise_alert
from charter.errors import CharterError
from charter.monitoring.service import WindowResult, latest_windows, stored_windows
from charter.registry.versions import list_versions, register_version, set_status
from charter.retraining.training import (
    TrainingError,
    save_model,
    train,
    training_frame,
    write_frame,
)
from charter.schemas import operations as schemas
from charter.spec.model import Charter, RetrainPolicy
from charter.store import ledger
from charter.workspace import Workspace

__all__ = ["MANUAL", "RetrainOutcome", "TrainingWindow", "retrain", "training_frame"]

MANUAL = "manual"


@dataclass(frozen=True)
class TrainingWindow:
    """The monitoring window a retraining is for, as judged for version ``version``."""

    start: datetime
    end: datetime
    version: str
    verdict: str
    drift_status: str | None
    labelled: int
    contract_verdict: str = ""

    @classmethod
    def of(cls, result: WindowResult) -> TrainingWindow:
        labels = result.data.get("labels") or {}
        return cls(
            _utc(result.start),
            _utc(result.end),
            result.version,
            result.verdict,
            result.data.get("drift_status"),
            int(labels.get("labelled") or 0),
            str(result.data.get("contract_verdict") or result.verdict),
        )

    @property
    def key(self) -> dict[str, str]:
        """How the window is recorded in lineage and the ledger, and compared for idempotency."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


@dataclass(frozen=True)
class RetrainOutcome:
    """What one retraining attempt did; :meth:`to_dict` is the JSON of ``charter retrain --json``.

    ``status``: ``retrained`` (a new version in shadow), ``failed`` (recorded and alerted, nothing
    else changed), ``skipped`` (a trigger fired but there is nothing to do yet, or any more) or
    ``not_triggered``.
    """

    charter: str
    status: str
    message: str
    triggers: tuple[str, ...] = ()
    window: TrainingWindow | None = None
    parent: int | None = None
    version: int | None = None
    rows: int = 0
    training_data: str | None = None
    error: dict[str, Any] | None = None
    alert_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_schema(self) -> schemas.RetrainResult:
        window = None if self.window is None else schemas.TrainingWindowKey(**self.window.key)
        return schemas.RetrainResult(
            charter=self.charter,
            status=self.status,
            message=self.message,
            triggers=list(self.triggers),
            window=window,
            window_version=None if self.window is None else self.window.version,
            parent_version=self.parent,
            version=self.version,
            rows=self.rows,
            training_data=self.training_data,
            error=self.error,
            alert_id=self.alert_id,
            notes=list(self.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def retrain(ws: Workspace, name: str, *, manual: bool = False) -> RetrainOutcome:
    """Retrain ``name`` if one of its triggers fired (with ``manual``: on its newest labelled
    window, whatever fired). See the module docstring for what is recorded."""
    charter = ws.load(name).charter
    policy = charter.operations.retrain
    if policy is None:
        if manual:
            raise CharterError(
                f"charter {charter.name!r} declares no operations.retrain, so there is no "
                "training entrypoint to call",
                hint="Add e.g. `retrain: {when: [sufficiency_breach], entrypoint: "
                "'train:fit'}` under operations.",
            )
        return RetrainOutcome(charter.name, "not_triggered", "no operations.retrain")
    with ws.exclusive(
        f"retrain-{charter.name}",
        busy=f"another retraining of {charter.name} is running in this workspace",
        hint="Wait for it to finish; retrainings of one charter never overlap.",
    ):
        return _Attempt(ws, charter, policy, manual).run()


class _Attempt:
    """One retraining of one charter: choose the window, train, register, record."""

    def __init__(self, ws: Workspace, charter: Charter, policy: RetrainPolicy, manual: bool):
        self.ws, self.charter, self.policy, self.manual = ws, charter, policy, manual
        self.name = charter.name
        self.versions = list_versions(ws, self.name)
        self.live = next((v.version for v in self.versions if v.status == "live"), None)
        self.floor = max(1, charter.sufficiency.min_labels)

    def run(self) -> RetrainOutcome:
        chosen = self._choose()
        if isinstance(chosen, RetrainOutcome):
            return chosen
        triggers, window = chosen
        done = self._trained_on(window)
        if done is not None:
            message = f"window {window.label} was already trained on: version {done}"
            return self._outcome("skipped", message, triggers, window)
        frame = training_frame(self.ws, self.charter, window.start, window.end)
        if frame.height < self.floor:
            message = (
                f"waiting for labels: {frame.height} labelled rows in window {window.label}, "
                f"{self.floor} needed (sufficiency.min_labels)"
            )
            return self._outcome("skipped", message, triggers, window, rows=frame.height)
        stem = f"{_stamp(window.start)}--{_stamp(window.end)}.parquet"
        data = write_frame(frame, self.ws.state_dir / "retraining" / self.name / stem)
        try:
            version = self._train_and_register(frame, data, triggers, window)
        except TrainingError as failure:
            return self._failed(failure, triggers, window, frame, data)
        message = (
            f"trained version {version} on {frame.height} labelled rows of window "
            f"{window.label}; it is in shadow"
        )
        outcome = self._outcome(
            "retrained", message, triggers, window, version=version, rows=frame.height, data=data
        )
        self._set_reference(version, data, outcome.notes)
        return outcome

    # -- which window -------------------------------------------------------------------------
    def _choose(self) -> tuple[tuple[str, ...], TrainingWindow] | RetrainOutcome:
        if self.manual:
            newest = _newest_labelled(stored_windows(self.ws, self.name), self.floor, self.live)
            if newest is None:
                raise CharterError(
                    f"no monitored window of {self.name} has {self.floor} labelled rows yet "
                    "(sufficiency.min_labels), so there is nothing to train on",
                    hint=f"Record labels (`charter labels {self.name}`) and evaluate windows "
                    f"(`charter monitor {self.name}`) first.",
                )
            return (MANUAL,), newest
        if self.live is None:
            return RetrainOutcome(self.name, "not_triggered", "no live version to judge")
        fired = self._fired(str(self.live))
        if not fired:
            message = f"no trigger ({', '.join(self.policy.when)}) fired on version {self.live}"
            return RetrainOutcome(self.name, "not_triggered", message)
        failed = self._failed_windows()
        pending = {k: w for k, w in fired.items() if w.label not in failed}
        if not pending:
            window = next(iter(fired.values()))
            message = (
                f"retraining on window {window.label} failed before; fix the entrypoint and "
                f"run `charter retrain {self.name}`"
            )
            return self._outcome("skipped", message, tuple(fired), window)
        newest = max(pending.values(), key=lambda w: w.start)
        return tuple(k for k, w in pending.items() if w.start == newest.start), newest

    def _fired(self, live: str) -> dict[str, TrainingWindow]:
        fired: dict[str, TrainingWindow] = {}
        latest = [w for w in latest_windows(self.ws, self.name, count=1) if w.version == live]
        if latest:
            window = TrainingWindow.of(latest[0])
            # The owner's rules, not data quality: a quality breach is the pipeline's to fix, and
            # retraining on a broken feed would learn the breakage.
            breached = window.contract_verdict == "breach"
            if "sufficiency_breach" in self.policy.when and breached:
                fired["sufficiency_breach"] = window
            if "drift_breach" in self.policy.when and window.drift_status == "breach":
                fired["drift_breach"] = window
        if "schedule" in self.policy.when:
            own = [w for w in stored_windows(self.ws, self.name) if w.version == live]
            newest = _newest_labelled(own, self.floor, None)
            if newest is not None and self._trained_on(newest) is None:
                fired["schedule"] = newest
        return fired

    def _trained_on(self, window: TrainingWindow) -> int | None:
        """The version already trained on ``window``. One a crash left ``registered`` (between
        registration and the status change) is put in shadow now."""
        for info in self.versions:
            recorded = (info.lineage.get("metadata") or {}).get("retrain") or {}
            if recorded.get("window") == window.key:
                if info.status == "registered":
                    self._to_shadow(info.version, info.status, dict(recorded))
                return info.version
        return None

    def _failed_windows(self) -> set[str]:
        with self.ws.db.read() as session:
            payloads = ledger.payloads_of(session, self.name, "retrain.failed")
        windows = (json.loads(p).get("window") or {} for p in payloads)
        return {f"{w.get('start')}/{w.get('end')}" for w in windows}

    # -- training and recording ---------------------------------------------------------------
    def _train_and_register(
        self, frame: pl.DataFrame, data: Path, triggers: Sequence[str], window: TrainingWindow
    ) -> int:
        features = self.charter.data.feature_columns()
        model = train(self.policy.entrypoint, frame, features, [Path.cwd(), self.ws.root])
        lineage = {
            "triggers": list(triggers),
            "window": window.key,
            "window_version": window.version,
            "verdict": window.verdict,
            "drift_status": window.drift_status,
            "rows": frame.height,
            "parent_version": self.live,
            "entrypoint": self.policy.entrypoint,
            "training_data": str(data),
        }
        with tempfile.TemporaryDirectory(prefix="charter-retrain-") as tmp:
            path = save_model(model, Path(tmp) / f"{self.name}-retrained.joblib")
            try:
                info = register_version(
                    self.ws,
                    self.name,
                    path,
                    flavor="sklearn",
                    training_data=data,
                    metadata={"retrain": lineage},
                )
            except CharterError as exc:
                raise TrainingError("register", exc) from exc
        self._to_shadow(info.version, info.status, lineage)
        return info.version

    def _to_shadow(self, version: int, status: str, lineage: dict[str, Any]) -> None:
        """Shadow, and what it was retrained for, in one transaction (a charter's very first
        version is registered straight into shadow)."""
        with self.ws.db.session() as session:
            if status != "shadow":
                reason = "retrained: " + ", ".join(lineage.get("triggers") or [])
                set_status(self.ws, session, self.name, version, "shadow", reason=reason)
            payload = {"version": version, **lineage}
            self.ws.ledger.append(
                session, "retrain.completed", payload, actor=self.ws.context.who, charter=self.name
            )

    def _set_reference(self, version: int, data: Path, notes: list[str]) -> None:
        if self.charter.operations.monitor.reference != "training":
            return
        from charter.monitoring.reference import set_reference

        try:
            set_reference(self.ws, self.name, version, data)
        except CharterError as exc:
            notes.append(f"the training window was not set as its reference: {exc.message}")

    def _failed(
        self,
        failure: TrainingError,
        triggers: Sequence[str],
        window: TrainingWindow,
        frame: pl.DataFrame,
        data: Path,
    ) -> RetrainOutcome:
        error = failure.error.to_dict()
        cause = failure.error.__cause__
        if cause is not None:
            error["cause"] = f"{type(cause).__name__}: {cause}"
        payload = {
            "stage": failure.stage,
            "triggers": list(triggers),
            "window": window.key,
            "manual": self.manual,
            "entrypoint": self.policy.entrypoint,
            "rows": frame.height,
            "parent_version": self.live,
            "training_data": str(data),
            "error": error,
        }
        with self.ws.db.session() as session:
            self.ws.ledger.append(
                session, "retrain.failed", payload, actor=self.ws.context.who, charter=self.name
            )
        message = (
            f"retraining failed ({failure.stage}): {failure.error.message}; "
            "the live model is unchanged"
        )
        outcome = self._outcome("failed", message, triggers, window, rows=frame.height, data=data)
        if cause is not None:
            error["traceback"] = "".join(traceback.format_exception(cause)[-8:])
        alert_id = None
        with contextlib.suppress(CharterError):  # the ledger already holds the failure
            alert_id = raise_alert(
                self.ws,
                self.name,
                event="retrain_failed",
                rule="retrain",
                window=window.label,
                severity="critical" if self.live is not None else "warning",
                message=f"{self.name}: {message}",
                details=payload,
            ).id
        return dataclasses.replace(outcome, error=error, alert_id=alert_id)

    def _outcome(
        self,
        status: str,
        message: str,
        triggers: Sequence[str],
        window: TrainingWindow,
        *,
        version: int | None = None,
        rows: int = 0,
        data: Path | None = None,
    ) -> RetrainOutcome:
        return RetrainOutcome(
            self.name,
            status,
            message,
            tuple(triggers),
            window,
            parent=self.live,
            version=version,
            rows=rows,
            training_data=None if data is None else str(data),
        )


def _newest_labelled(
    windows: Sequence[WindowResult], floor: int, prefer: int | None
) -> TrainingWindow | None:
    """The newest window with ``floor`` labelled rows, as judged for version ``prefer`` when it
    was monitored there, else for whichever version was."""
    candidates = [w for w in map(TrainingWindow.of, windows) if w.labelled >= floor]
    if not candidates:
        return None
    newest = max(w.start for w in candidates)
    same = [w for w in candidates if w.start == newest]
    return next((w for w in same if w.version == str(prefer)), same[-1])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
