"""The scheduler: every charter's pipeline steps, on the charter's cadence, one failure at a time.

A pass runs, for each charter that is due, these steps in order::

    ingest    read new batches from data.source            (plumbing.ingest)
    labels    read new ground truth from labels.source     (plumbing.labels; only when declared)
    monitor   evaluate the windows                         (monitoring.service)
    retrain   retrain if a trigger fired                   (operations.retrain; when declared)
    review    stalled decisions, automatic rollback,       (services.lifecycle)
              automatic promotion
    deliver   send the charter's queued alert deliveries   (alerts.outbox)

Each step is the same service function the CLI commands call, so cron, Airflow or Dagster can
drive the steps one by one instead (``charter ingest``, ``charter monitor`` ...), or the whole
pass with ``charter run --once``.

**A failing step never stops the scheduler.** It is logged, raised as a ``step_failed`` alert
(de-duplicated per charter and step while unresolved, so an hourly failure does not page hourly),
and the next step and the next charter run as usual: a monitor on yesterday's data beats no
monitor. A step "fails" when it raises, or when it reports a failure (a landing file or label file
that cannot be read). A failed retraining raises its own ``retrain_failed`` alert instead.

**Cadence.** A charter is due every ``operations.monitor.every`` (``--interval`` overrides it for
all charters); charters are re-read every pass, so new and edited charter files are picked up.
``run_once`` runs every selected charter whatever its cadence: the orchestrator is the clock.

**Shutdown.** The first SIGTERM or SIGINT lets the current step finish, then stops; a second one
abandons the step, which is safe because every step commits atomically (an abandoned ingestion
batch is re-read on the next run, exactly once). Either way the lock is released on the way out.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from charter import attention
from charter.errors import CharterError
from charter.scheduling.locks import SchedulerLock
from charter.schemas import operations as schemas
from charter.spec.model import Charter
from charter.workspace import Workspace

logger = logging.getLogger("charter.scheduler")

STEPS = ("ingest", "labels", "monitor", "retrain", "review", "deliver")


class Abandoned(BaseException):
    """Raised inside the running step by a second stop signal. A BaseException, so that the
    steps' own ``except Exception`` cannot swallow it."""


@dataclass
class StepResult:
    """One step of one charter in one pass."""

    charter: str
    step: str
    status: str  # ok, failed, skipped
    summary: str
    seconds: float = 0.0
    error: dict[str, Any] | None = None
    details: dict[str, Any] | None = None  # the retrain outcome, the review report

    def to_schema(self) -> schemas.Step:
        return schemas.Step(
            charter=self.charter,
            step=self.step,
            status=self.status,
            summary=self.summary,
            seconds=round(self.seconds, 3),
            error=self.error,
            details=self.details,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass
class PassReport:
    """What one pass did; :meth:`to_dict` is ``charter run --once --json``."""

    started_at: datetime
    finished_at: datetime | None = None
    steps: list[StepResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    @property
    def attention(self) -> list[attention.Attention]:
        """The facts each step reported (in its ``details["attention"]``)."""
        return [
            attention.Attention(**fact)
            for step in self.steps
            for fact in (step.details or {}).get("attention", [])
        ]

    @property
    def exit_code(self) -> int:
        """``run --once``: 1 if a step failed for any other reason (or the pass was
        interrupted), 5 if every failure is an attention fact (or only attention was raised),
        else 0."""
        if self.interrupted:
            return attention.EXIT_ERROR
        if any(not (step.details or {}).get("attention") for step in self.failed):
            return attention.EXIT_ERROR
        return attention.exit_code(self.attention)

    def to_schema(self) -> schemas.PassResult:
        return schemas.PassResult(
            ok=self.ok,
            started_at=self.started_at,
            finished_at=self.finished_at,
            interrupted=self.interrupted,
            charters=list(dict.fromkeys(s.charter for s in self.steps)),
            failed=len(self.failed),
            steps=[s.to_schema() for s in self.steps],
            attention=[fact.to_schema() for fact in self.attention],
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


class Scheduler:
    """Runs passes over a workspace's charters. Hold a :class:`SchedulerLock` while using it."""

    def __init__(
        self,
        ws: Workspace,
        *,
        charters: Sequence[str] = (),
        interval: timedelta | None = None,
        lock: SchedulerLock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.ws, self.interval, self.lock = ws, interval, lock
        self.only = [ws.load(name).charter.name for name in charters]  # unknown names fail now
        self.stop = stop or threading.Event()
        self._next_due: dict[str, float] = {}

    def names(self) -> list[str]:
        return list(self.only) or self.ws.charter_names()

    # -- passes -------------------------------------------------------------------------------
    def run_once(self) -> PassReport:
        """One pass over every selected charter, due or not."""
        return self._pass(self.names())

    def run_forever(self, on_pass: Callable[[PassReport], None] | None = None) -> None:
        """Pass after pass, each over the charters that are due, until :attr:`stop` is set."""
        logger.info("scheduler started on %s", self.ws.root)
        try:
            while not self.stop.is_set():
                self._tick(on_pass)
        except Abandoned:
            pass
        logger.info("scheduler stopped")

    def _tick(self, on_pass: Callable[[PassReport], None] | None) -> None:
        if self.lock is not None:
            self.lock.check()
        now = time.monotonic()
        due = [n for n in self.names() if self._next_due.get(n, 0.0) <= now]
        if due:
            report = self._pass(due)
            for name in due:
                self._next_due[name] = now + self._cadence(name).total_seconds()
            if on_pass is not None:
                on_pass(report)
        pending = [self._next_due.get(n, 0.0) for n in self.names()]
        wait = min(pending, default=now + 60.0) - time.monotonic()
        self.stop.wait(min(max(wait, 0.0), 60.0))  # wake each minute at least: new charters

    def _cadence(self, name: str) -> timedelta:
        if self.interval is not None:
            return self.interval
        try:
            return self.ws.load(name).charter.operations.monitor.every
        except CharterError:
            return timedelta(hours=1)  # the charter's own "load" failure is already alerted

    def _pass(self, names: Sequence[str]) -> PassReport:
        report = PassReport(started_at=datetime.now(UTC))
        try:
            for name in names:
                if self.stop.is_set():
                    report.interrupted = True
                    break
                self._charter(name, report)
        except Abandoned:
            report.interrupted = True
            logger.warning("pass abandoned by a second stop signal")
        report.finished_at = datetime.now(UTC)
        failed = len(report.failed)
        logger.info(
            "pass over %d charter(s): %d steps, %d failed%s",
            len(names),
            len(report.steps),
            failed,
            " (interrupted)" if report.interrupted else "",
        )
        return report

    def _charter(self, name: str, report: PassReport) -> None:
        try:
            charter = self.ws.load(name).charter
        except CharterError as exc:
            report.steps.append(self._failed(name, "load", exc, 0.0))
            return
        for step in STEPS:
            if self.stop.is_set():
                report.interrupted = True
                return
            report.steps.append(self._step(name, step, charter))

    def _step(self, name: str, step: str, charter: Charter) -> StepResult:
        began = time.monotonic()
        try:
            status, summary, details = _STEP_FUNCTIONS[step](self.ws, name, charter)
        except Abandoned:
            logger.warning("%s: %s abandoned", name, step)
            raise
        except Exception as exc:
            return self._failed(name, step, exc, time.monotonic() - began)
        result = StepResult(name, step, status, summary, time.monotonic() - began, None, details)
        if status == "failed":
            result.error = {"type": "StepFailed", "message": summary}
            # retrain raised its own alert; so did ingestion for a version that failed
            self._alert(result, alert=step != "retrain" and not (details or {}).get("alerted"))
        else:
            logger.info("%s: %s %s: %s", name, step, status, summary)
        return result

    def _failed(self, name: str, step: str, exc: Exception, seconds: float) -> StepResult:
        if isinstance(exc, CharterError):
            error, summary = exc.to_dict(), exc.message
        else:
            error = {"type": type(exc).__name__, "message": f"{type(exc).__name__}: {exc}"}
            summary = error["message"]
            logger.exception("%s: %s failed unexpectedly", name, step)
        result = StepResult(name, step, "failed", summary, seconds, error)
        self._alert(result, alert=True)
        return result

    def _alert(self, result: StepResult, *, alert: bool) -> None:
        logger.error("%s: %s failed: %s", result.charter, result.step, result.summary)
        if not alert:
            return
        try:
            from charter.alerts.raising import raise_alert

            raise_alert(
                self.ws,
                result.charter,
                event="step_failed",
                rule=f"scheduler.{result.step}",
                window=None,
                severity="warning",
                message=f"{result.charter}: the scheduler's {result.step} step failed: "
                f"{result.summary}",
                details={"step": result.step, "error": result.error},
            )
        except Exception as exc:  # the alert is a courtesy; the failure is already logged
            logger.error("%s: could not raise the step_failed alert: %s", result.charter, exc)


# -- the steps: (workspace, name, charter) -> (status, summary, details) --------------------------
Done = tuple[str, str, dict[str, Any] | None]


def _ingest(ws: Workspace, name: str, charter: Charter) -> Done:
    from charter.plumbing.ingest import ingest

    report = ingest(ws, name)
    summary = (
        f"{len(report.batches)} batch(es), {report.rows_in} rows in, "
        f"{report.rows_quarantined} quarantined"
    )
    return _with_failures(summary, report.files_failed, attention.from_ingest(report))


def _labels(ws: Workspace, name: str, charter: Charter) -> Done:
    if charter.labels is None or charter.labels.source is None:
        return "skipped", "no labels.source in the charter", None
    from charter.plumbing.labels import ingest_labels

    report = ingest_labels(ws, name)
    summary = f"{len(report.batches)} deliveries, {report.total('labels_new')} new labels"
    return _with_failures(summary, report.files_failed, attention.from_labels(report))


def _monitor(ws: Workspace, name: str, charter: Charter) -> Done:
    from charter.services.monitoring import monitor

    report = monitor(ws, name)
    summary = (
        f"{len(report.windows)} window(s), {report.verdicts_changed} verdict(s) changed, "
        f"{len(report.new_alerts)} new alert(s)"
    )
    return "ok", summary, None


def _retrain(ws: Workspace, name: str, charter: Charter) -> Done:
    if charter.operations.retrain is None:
        return "skipped", "no operations.retrain in the charter", None
    from charter.retraining.retrain import retrain

    outcome = retrain(ws, name)
    status = {"failed": "failed", "retrained": "ok"}.get(outcome.status, "skipped")
    return status, f"{outcome.status}: {outcome.message}", outcome.to_dict()


def _review(ws: Workspace, name: str, charter: Charter) -> Done:
    from charter.services.lifecycle import review

    result = review(ws, name)
    return "ok", result.summary, result.to_dict()


def _deliver(ws: Workspace, name: str, charter: Charter) -> Done:
    from charter.alerts.outbox import deliver_pending

    done = deliver_pending(ws, name=name)
    return "ok", done.summary, done.to_dict()


def _with_failures(
    summary: str, failures: Sequence[dict[str, str]], facts: Sequence[attention.Attention] = ()
) -> Done:
    """A step that read files or scored versions fails when one of them failed (the others went
    on); its attention facts ride in ``details["attention"]``."""
    versions = [f.message for f in facts if f.kind == "version_failed"]
    details: dict[str, Any] | None = {"attention": attention.to_json(facts)} if facts else None
    if not failures and not versions:
        return "ok", summary, details
    listed = "; ".join([*(f"{f.get('file')}: {f.get('error')}" for f in failures), *versions])
    details = {"failed": list(failures), **(details or {})}
    if not failures:
        details["alerted"] = True  # ingestion raised its version_failed alerts already
    return "failed", f"{summary}; {len(failures) + len(versions)} failed: {listed}", details


_STEP_FUNCTIONS: dict[str, Callable[[Workspace, str, Charter], Done]] = {
    "ingest": _ingest,
    "labels": _labels,
    "monitor": _monitor,
    "retrain": _retrain,
    "review": _review,
    "deliver": _deliver,
}


# -- signals ------------------------------------------------------------------------------------
@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While the block runs, SIGTERM/SIGINT set ``stop``; a second one raises :class:`Abandoned`
    in the running code. Outside the main thread (where Python cannot install handlers) this
    does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Polars installs its own C-level SIGINT handler when it is first imported and turns a SIGINT
    # into a KeyboardInterrupt inside whatever query runs, whatever Python's handler says. The
    # steps import Polars lazily, so it would arrive after ours and cut the current step short.
    # Imported first, its handler is replaced by ours below, and the step finishes.
    import polars  # noqa: F401

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise Abandoned(signal.Signals(signum).name)
        logger.warning(
            "%s received: stopping after the current step (send it again to abandon the step)",
            signal.Signals(signum).name,
        )
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
