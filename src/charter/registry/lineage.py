"""Lineage: what a model version was made from, recorded once at registration.

An auditor following a prediction back asks: which data trained this model, which code, with
which parameters, on which libraries? Each answer is captured here as plain JSON so it can sit in
the version row and in the ledger, readable without charter installed. Capturing lineage must
never block a registration: a missing ``git``, an unreadable CSV or an exotic parameter value
degrade to ``None`` or a string, not to an error.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.metadata
import math
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from charter.errors import RegistryError
from charter.registry.artifacts import sha256_file, sha256_tree
from charter.registry.flavors import Candidate, LoadedModel

GIT_TIMEOUT_SECONDS = 5
MAX_DEPTH = 6
PACKAGES = (
    "charter-ml",
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "polars",
    "pyarrow",
    "joblib",
    "skops",
    "onnx",
    "onnxruntime",
    "mlflow-skinny",
    "mlflow",
    "xgboost",
    "lightgbm",
)


def build_lineage(
    candidate: Candidate,
    loaded: LoadedModel,
    *,
    training_data: str | Path | None,
    params: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Everything recorded about a new version's origin. ``params`` override the estimator's."""
    return {
        "artifact": candidate.describe(),
        "model": {"class": loaded.model_class, **json_safe(dict(loaded.details))},
        "training_data": None if training_data is None else fingerprint_data(Path(training_data)),
        "code": code_version(),
        "parameters": json_safe({**loaded.parameters, **(params or {})}),
        "metadata": json_safe(dict(metadata or {})),
        "environment": environment(package_of(loaded.model_class)),
    }


def fingerprint_data(path: Path) -> dict[str, Any]:
    """SHA-256 and size of a training-data file (tree hash for a folder), plus rows and columns
    when Polars can read it as Parquet or CSV."""
    if not path.exists():
        raise RegistryError(f"training data {path} does not exist")
    resolved = path.resolve()
    if resolved.is_dir():
        files = [p for p in resolved.rglob("*") if p.is_file()]
        body: dict[str, Any] = {
            "path": str(resolved),
            "kind": "directory",
            "sha256": sha256_tree(resolved),
            "bytes": sum(p.stat().st_size for p in files),
        }
        parquet = sorted(str(p) for p in files if p.suffix.lower() == ".parquet")
        body.update(_shape(lambda: pl.scan_parquet(parquet), "parquet") if parquet else {})
        return body
    body = {
        "path": str(resolved),
        "kind": "file",
        "sha256": sha256_file(resolved),
        "bytes": resolved.stat().st_size,
    }
    suffix = resolved.suffix.lower()
    if suffix == ".parquet":
        body.update(_shape(lambda: pl.scan_parquet(resolved), "parquet"))
    elif suffix in (".csv", ".tsv"):
        separator = "\t" if suffix == ".tsv" else ","
        body.update(_shape(lambda: pl.scan_csv(resolved, separator=separator), "csv"))
    return body


def _shape(scan: Any, fmt: str) -> dict[str, Any]:
    try:
        frame: pl.LazyFrame = scan()
        schema = frame.collect_schema()
        rows = frame.select(pl.len()).collect().item()
    except Exception:  # unreadable by Polars: the hash alone still identifies the data
        return {}
    return {"format": fmt, "rows": int(rows), "columns": {k: str(v) for k, v in schema.items()}}


def code_version(directory: Path | None = None) -> dict[str, Any] | None:
    """The git commit of the repository around ``directory`` (default: the current folder) and
    whether its working tree has uncommitted changes; None outside git or without git."""
    where = directory or Path.cwd()
    commit = _git(where, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(where, "status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": None if status is None else bool(status),
        "repository": _git(where, "rev-parse", "--show-toplevel"),
        "branch": _git(where, "rev-parse", "--abbrev-ref", "HEAD"),
    }


def _git(directory: Path, *args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock from someone committing.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment(extra_modules: Iterable[str] = ()) -> dict[str, Any]:
    """Python, platform and the versions of the libraries that matter for loading a model."""
    names = dict.fromkeys([*PACKAGES, *extra_modules])
    packages = {}
    for name in names:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON: numbers, strings, lists and mappings kept; NumPy scalars and arrays
    converted; estimators, functions and anything else named by their qualified name or repr."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return json_safe(value.item(), depth)
    if isinstance(value, enum.Enum):
        return json_safe(value.value, depth)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if depth >= MAX_DEPTH:
        return repr(value)
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist(), depth + 1) if value.size <= 1_000 else repr(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(v, depth + 1) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value), depth + 1)
    if hasattr(value, "get_params"):  # a nested estimator: its class is what matters
        kind = type(value)
        return {"estimator": f"{kind.__module__}.{kind.__qualname__}"}
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


def package_of(qualified_class: str | None) -> list[str]:
    """The top-level package of a model class, so its version lands in the environment."""
    if not qualified_class or ":" in qualified_class:
        return []
    root = qualified_class.split(".", 1)[0]
    return [{"sklearn": "scikit-learn"}.get(root, root)]
