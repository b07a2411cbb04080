"""The public surface changes only on purpose: update EXPECTED (and the CHANGELOG) when it does."""

from __future__ import annotations

import charter

EXPECTED = {
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
    "ExpressionError",
    "InvalidIdentityError",
    "LifecycleError",
    "LoadedCharter",
    "ModelFileError",
    "NoRollbackTargetError",
    "NotAuthorizedError",
    "PermissionDeniedError",
    "PredictionLogUnavailableError",
    "Predictor",
    "RegistryError",
    "RequestError",
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
    "readiness",
    "register_version",
    "reject",
    "reject_change",
    "rescore",
    "resolve_alert",
    "retire",
    "retrain",
    "review",
    "revoke_authorization",
    "rollback",
    "set_reference",
    "shadow",
    "test_routes",
}


def test_public_surface_is_exactly_the_expected_names() -> None:
    assert set(charter.__all__) == EXPECTED


def test_every_public_name_exists() -> None:
    for name in charter.__all__:
        assert hasattr(charter, name), name


def test_every_error_is_a_charter_error() -> None:
    errors = [getattr(charter, n) for n in charter.__all__ if n.endswith("Error")]
    assert all(issubclass(e, charter.CharterError) for e in errors)


def test_every_charter_error_is_exported() -> None:
    from charter import errors

    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.CharterError)
    }
    assert defined <= set(charter.__all__), sorted(defined - set(charter.__all__))
