"""The public surface changes only on purpose: update EXPECTED (and the CHANGELOG) when it does."""

from __future__ import annotations

import charter

EXPECTED = {
    "ArtifactTamperedError",
    "AuditError",
    "Charter",
    "CharterError",
    "CharterFileError",
    "CharterNotFoundError",
    "DataError",
    "DecisionError",
    "ExpressionError",
    "LifecycleError",
    "LoadedCharter",
    "ModelFileError",
    "NoRollbackTargetError",
    "NotAuthorizedError",
    "Predictor",
    "RegistryError",
    "Scheduler",
    "Settings",
    "StoreError",
    "StoreUnavailableError",
    "UserCodeError",
    "VersionInfo",
    "VersionNotFoundError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "ack_alert",
    "approve",
    "authorize",
    "get_version",
    "ingest",
    "ingest_labels",
    "list_alerts",
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
    "resolve_alert",
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
