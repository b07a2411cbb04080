"""charter: take machine-learning models from pilot to production and keep them there.

The public Python API — the same operations as the CLI, for notebooks and orchestrators::

    import charter

    ws = charter.Workspace("my-models")
    loaded = ws.load("credit-default")                     # validated charter file
    charter.register_version(ws, "credit-default", "model.joblib", training_data="train.parquet")
    report = charter.ingest(ws, "credit-default")          # validate, score, log exactly once
    assert ws.ledger.verify().ok

Everything not listed in ``__all__`` is internal and may change without notice.
"""

from charter.errors import (
    ArtifactTamperedError,
    AuditError,
    CharterError,
    CharterFileError,
    CharterNotFoundError,
    DataError,
    ExpressionError,
    ModelFileError,
    RegistryError,
    StoreError,
    StoreUnavailableError,
    UserCodeError,
    VersionNotFoundError,
    WorkspaceError,
)
from charter.monitoring.reference import set_reference
from charter.monitoring.service import monitor
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.registry import (
    Predictor,
    VersionInfo,
    get_version,
    list_versions,
    load_model,
    register_version,
)
from charter.settings import Settings
from charter.spec import Charter, LoadedCharter, load_charter_file, parse_charter
from charter.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "ArtifactTamperedError",
    "AuditError",
    "Charter",
    "CharterError",
    "CharterFileError",
    "CharterNotFoundError",
    "DataError",
    "ExpressionError",
    "LoadedCharter",
    "ModelFileError",
    "Predictor",
    "RegistryError",
    "Settings",
    "StoreError",
    "StoreUnavailableError",
    "UserCodeError",
    "VersionInfo",
    "VersionNotFoundError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "get_version",
    "ingest",
    "ingest_labels",
    "list_versions",
    "load_charter_file",
    "load_model",
    "monitor",
    "parse_charter",
    "register_version",
    "set_reference",
]
