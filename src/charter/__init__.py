"""charter: take machine-learning models from pilot to production and keep them there.

The public Python API — the same operations as the CLI, for notebooks and orchestrators::

    import charter

    ws = charter.Workspace("my-models")
    loaded = ws.load("credit-default")                     # validated charter file
    charter.register_version(ws, "credit-default", "model.joblib", training_data="train.parquet")
    report = charter.ingest(ws, "credit-default")          # validate, score, log exactly once
    charter.monitor(ws, "credit-default")                  # windows, verdicts, alerts
    print(charter.readiness(ws, "credit-default", 1).ready)
    charter.approve(ws, "credit-default", 1, by="owner@example.com", accept_risk="...")
    charter.review(ws, "credit-default")                   # automatic rollback, stalled decisions
    charter.suspend(ws, "credit-default", by="owner@example.com", reason="...")  # stop deciding
    print(charter.trace(ws, prediction_id).summary)        # what one prediction rests on
    assert ws.ledger.verify().ok

Everything not listed in ``__all__`` is internal and may change without notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # static type checkers and IDEs see every name; at run time they load on use
    from charter.alerts.raising import ack_alert, list_alerts, resolve_alert, test_routes
    from charter.errors import (
        AlertError,
        AlertNotFoundError,
        AlertStateError,
        ArtifactTamperedError,
        AuditError,
        AuditKeyError,
        AuthenticationError,
        CharterError,
        CharterFileError,
        CharterNotFoundError,
        ContractViolationError,
        DataError,
        DecisionError,
        DecisionNotFoundError,
        EvidenceChangedError,
        EvidenceError,
        ExpressionError,
        IdentityProviderUnavailableError,
        InvalidIdentityError,
        LifecycleError,
        ModelFileError,
        NoRollbackTargetError,
        NotAuthorizedError,
        PackTamperedError,
        PermissionDeniedError,
        PredictionLogUnavailableError,
        PredictionNotFoundError,
        RegistryError,
        RequestError,
        RetentionError,
        SchedulerLockError,
        StateTamperedError,
        StoreError,
        StoreUnavailableError,
        UserCodeError,
        VersionNotFoundError,
        WorkspaceError,
    )
    from charter.evidence.pack import write_pack
    from charter.evidence.verify import verify_pack
    from charter.governance.changes import accept_change, list_changes, reject_change
    from charter.lifecycle.authorization import authorize, revoke_authorization
    from charter.lifecycle.decisions import approve, list_decisions, promote, reject
    from charter.lifecycle.gate import readiness
    from charter.lifecycle.transitions import retire, rollback, shadow
    from charter.monitoring.reference import set_reference
    from charter.plumbing.ingest import ingest
    from charter.plumbing.labels import ingest_labels
    from charter.plumbing.rescore import rescore
    from charter.plumbing.retention import purge
    from charter.registry import (
        Predictor,
        VersionInfo,
        get_version,
        list_versions,
        load_model,
    )
    from charter.retraining.retrain import retrain
    from charter.scheduling.scheduler import Scheduler
    from charter.services.lifecycle import review
    from charter.services.monitoring import monitor
    from charter.services.oversight import resume, suspend
    from charter.services.registry import register_version
    from charter.services.trace import trace, trace_key
    from charter.settings import Settings
    from charter.spec import Charter, LoadedCharter, load_charter_file, parse_charter
    from charter.workspace import Workspace

__version__ = "0.1.0"

# Each public name and the module it lives in. ``import charter`` loads none of them (so the CLI
# and a notebook start fast and pay only for what they use); the first ``charter.NAME`` imports
# NAME's module and keeps the value here.
_EXPORTS: dict[str, str] = {
    "AlertError": "charter.errors",
    "AlertNotFoundError": "charter.errors",
    "AlertStateError": "charter.errors",
    "ArtifactTamperedError": "charter.errors",
    "AuditError": "charter.errors",
    "AuditKeyError": "charter.errors",
    "AuthenticationError": "charter.errors",
    "Charter": "charter.spec",
    "CharterError": "charter.errors",
    "CharterFileError": "charter.errors",
    "CharterNotFoundError": "charter.errors",
    "ContractViolationError": "charter.errors",
    "DataError": "charter.errors",
    "DecisionError": "charter.errors",
    "DecisionNotFoundError": "charter.errors",
    "EvidenceChangedError": "charter.errors",
    "EvidenceError": "charter.errors",
    "ExpressionError": "charter.errors",
    "InvalidIdentityError": "charter.errors",
    "LifecycleError": "charter.errors",
    "LoadedCharter": "charter.spec",
    "ModelFileError": "charter.errors",
    "NoRollbackTargetError": "charter.errors",
    "NotAuthorizedError": "charter.errors",
    "PackTamperedError": "charter.errors",
    "PermissionDeniedError": "charter.errors",
    "IdentityProviderUnavailableError": "charter.errors",
    "PredictionLogUnavailableError": "charter.errors",
    "PredictionNotFoundError": "charter.errors",
    "Predictor": "charter.registry",
    "RegistryError": "charter.errors",
    "RequestError": "charter.errors",
    "RetentionError": "charter.errors",
    "Scheduler": "charter.scheduling.scheduler",
    "SchedulerLockError": "charter.errors",
    "Settings": "charter.settings",
    "StateTamperedError": "charter.errors",
    "StoreError": "charter.errors",
    "StoreUnavailableError": "charter.errors",
    "UserCodeError": "charter.errors",
    "VersionInfo": "charter.registry",
    "VersionNotFoundError": "charter.errors",
    "Workspace": "charter.workspace",
    "WorkspaceError": "charter.errors",
    "accept_change": "charter.governance.changes",
    "ack_alert": "charter.alerts.raising",
    "approve": "charter.lifecycle.decisions",
    "authorize": "charter.lifecycle.authorization",
    "get_version": "charter.registry",
    "ingest": "charter.plumbing.ingest",
    "ingest_labels": "charter.plumbing.labels",
    "list_alerts": "charter.alerts.raising",
    "list_changes": "charter.governance.changes",
    "list_decisions": "charter.lifecycle.decisions",
    "list_versions": "charter.registry",
    "load_charter_file": "charter.spec",
    "load_model": "charter.registry",
    "monitor": "charter.services.monitoring",
    "parse_charter": "charter.spec",
    "promote": "charter.lifecycle.decisions",
    "purge": "charter.plumbing.retention",
    "readiness": "charter.lifecycle.gate",
    "register_version": "charter.services.registry",
    "reject": "charter.lifecycle.decisions",
    "reject_change": "charter.governance.changes",
    "rescore": "charter.plumbing.rescore",
    "resolve_alert": "charter.alerts.raising",
    "resume": "charter.services.oversight",
    "retire": "charter.lifecycle.transitions",
    "retrain": "charter.retraining.retrain",
    "review": "charter.services.lifecycle",
    "revoke_authorization": "charter.lifecycle.authorization",
    "rollback": "charter.lifecycle.transitions",
    "set_reference": "charter.monitoring.reference",
    "shadow": "charter.lifecycle.transitions",
    "suspend": "charter.services.oversight",
    "test_routes": "charter.alerts.raising",
    "verify_pack": "charter.evidence.verify",
    "write_pack": "charter.evidence.pack",
    "trace": "charter.services.trace",
    "trace_key": "charter.services.trace",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'charter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AlertError",
    "AlertNotFoundError",
    "AlertStateError",
    "ArtifactTamperedError",
    "AuditError",
    "AuditKeyError",
    "AuthenticationError",
    "Charter",
    "CharterError",
    "CharterFileError",
    "CharterNotFoundError",
    "ContractViolationError",
    "DataError",
    "DecisionError",
    "DecisionNotFoundError",
    "EvidenceChangedError",
    "EvidenceError",
    "ExpressionError",
    "IdentityProviderUnavailableError",
    "InvalidIdentityError",
    "LifecycleError",
    "LoadedCharter",
    "ModelFileError",
    "NoRollbackTargetError",
    "NotAuthorizedError",
    "PackTamperedError",
    "PermissionDeniedError",
    "PredictionLogUnavailableError",
    "PredictionNotFoundError",
    "Predictor",
    "RegistryError",
    "RequestError",
    "RetentionError",
    "Scheduler",
    "SchedulerLockError",
    "Settings",
    "StateTamperedError",
    "StoreError",
    "StoreUnavailableError",
    "UserCodeError",
    "VersionInfo",
    "VersionNotFoundError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "accept_change",
    "ack_alert",
    "approve",
    "authorize",
    "get_version",
    "ingest",
    "ingest_labels",
    "list_alerts",
    "list_changes",
    "list_decisions",
    "list_versions",
    "load_charter_file",
    "load_model",
    "monitor",
    "parse_charter",
    "promote",
    "purge",
    "readiness",
    "register_version",
    "reject",
    "reject_change",
    "rescore",
    "resolve_alert",
    "resume",
    "retire",
    "retrain",
    "review",
    "revoke_authorization",
    "rollback",
    "set_reference",
    "shadow",
    "suspend",
    "test_routes",
    "trace",
    "trace_key",
    "verify_pack",
    "write_pack",
]
