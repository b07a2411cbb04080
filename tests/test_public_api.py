"""The public surface changes only on purpose: update EXPECTED (and the CHANGELOG) when it does."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    "verify_pack",
    "write_pack",
    "trace",
    "trace_key",
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


def test_public_names_load_lazily_from_the_modules_type_checkers_see() -> None:
    """``charter/__init__.py`` names each public name twice: in the ``if TYPE_CHECKING:`` imports
    (for mypy and IDEs) and in ``_EXPORTS`` (for the lazy import at run time). They must agree."""
    tree = ast.parse(Path(charter.__file__).read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    seen = {
        alias.asname or alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == charter._EXPORTS
    assert set(charter._EXPORTS) | {"__version__"} == set(charter.__all__)


def test_dir_lists_every_public_name() -> None:
    assert set(charter.__all__) <= set(dir(charter))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        charter.no_such_name  # noqa: B018


def test_import_charter_loads_no_heavy_library() -> None:
    """``import charter`` is cheap: the data and statistics stacks load when a function needs them."""
    heavy = ["scipy", "sklearn", "polars", "pyarrow", "pandas", "sqlalchemy", "alembic", "fastapi"]
    code = (
        "import json, sys\n"
        "import charter\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    assert json.loads(done.stdout) == []


def _env() -> dict[str, str]:
    """This interpreter, with the ``charter`` this test imported first on the path."""
    src = str(Path(charter.__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
