"""Model flavors: how a model is recognised, loaded from verified bytes, and scored.

=============  ==============================================  =========================
flavor         what is registered                              loaded with
=============  ==============================================  =========================
sklearn        ``.joblib``/``.pkl``/``.pickle`` or ``.skops``  joblib, or skops (narrow
               file of a scikit-learn compatible estimator     trust list)
onnx           ``.onnx`` file                                  onnxruntime (extra)
mlflow         a directory with an ``MLmodel`` file            ``mlflow.pyfunc`` (extra)
entrypoint     ``module.path:function``                        import, after checking
                                                               the module source's hash
=============  ==============================================  =========================

Every loader here receives bytes (or a private directory copy) whose SHA-256 the caller has
already checked; none of them reads the artifact store itself. The optional libraries are imported
only when a model of their flavor is loaded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charter.errors import ModelFileError, RegistryError
from charter.registry.artifacts import sha256_bytes, sha256_tree, tree_files
from charter.registry.flavors import entrypoint
from charter.registry.flavors.base import LoadedModel, Predictor
from charter.registry.flavors.sklearn import FORMATS as SKLEARN_SUFFIXES
from charter.registry.flavors.sklearn import format_of

FLAVORS = ("sklearn", "onnx", "mlflow", "entrypoint")
ARTIFACT_KINDS = {
    "sklearn": "file",
    "onnx": "file",
    "mlflow": "directory",
    "entrypoint": "entrypoint",
}

__all__ = [
    "FLAVORS",
    "Candidate",
    "LoadedModel",
    "LocalArtifact",
    "Predictor",
    "check_flavor",
    "detect_flavor",
    "format_for",
    "load_artifact",
    "prepare",
]


@dataclass(frozen=True)
class LocalArtifact:
    """An artifact whose hash has been checked: a file's bytes, or a private directory copy."""

    name: str
    label: str  # what to call it in messages, e.g. "credit-default version 3 (model.joblib)"
    data: bytes | None = None
    directory: Path | None = None
    keep_alive: tempfile.TemporaryDirectory[str] | None = None


@dataclass(frozen=True)
class Candidate:
    """A model about to be registered: its flavor, its bytes (or folder) and their hash."""

    flavor: str
    format: str
    kind: str  # file, directory or entrypoint
    sha256: str
    source: str  # the absolute path, or the entrypoint reference
    size: int
    local: LocalArtifact

    @property
    def name(self) -> str:
        return self.local.name

    def describe(self) -> dict[str, Any]:
        """The ``artifact`` part of the lineage."""
        return {
            "name": self.name,
            "kind": self.kind,
            "format": self.format,
            "bytes": self.size,
            "source": self.source,
        }


def prepare(target: str, flavor: str | None, *, search: Sequence[Path]) -> Candidate:
    """Read and hash what ``target`` names, as ``flavor`` (detected when None)."""
    chosen = check_flavor(flavor) if flavor else detect_flavor(target)
    kind = ARTIFACT_KINDS[chosen]
    if kind == "entrypoint":
        if not entrypoint.is_reference(target):
            raise ModelFileError(
                f"{target!r} is not an entrypoint of the form module.path:function"
            )
        data = entrypoint.manifest(target, search)
        local = LocalArtifact(entrypoint.MANIFEST_NAME, target, data=data)
        return Candidate(chosen, "manifest", kind, sha256_bytes(data), target, len(data), local)
    path = Path(target).expanduser().resolve()
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if kind == "directory":
        if not path.is_dir():
            raise ModelFileError(
                f"{path} is a file; the {chosen} flavor needs a model folder with an MLmodel file"
            )
        size = sum(p.stat().st_size for _, p in tree_files(path))
        local = LocalArtifact(path.name, str(path), directory=path)
        return Candidate(chosen, chosen, kind, sha256_tree(path), str(path), size, local)
    if not path.is_file():
        raise ModelFileError(f"{path} is a folder; the {chosen} flavor needs a model file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read the model file {path}: {exc}") from exc
    local = LocalArtifact(path.name, str(path), data=data)
    fmt = format_for(chosen, path.name)
    return Candidate(chosen, fmt, kind, sha256_bytes(data), str(path), len(data), local)


def check_flavor(flavor: str) -> str:
    if flavor not in FLAVORS:
        raise RegistryError(
            f"unknown flavor {flavor!r}", hint=f"Known flavors: {', '.join(FLAVORS)}."
        )
    return flavor


def detect_flavor(target: str) -> str:
    """The flavor of a model path or entrypoint reference, from what it is and its suffix."""
    path = Path(target)
    if path.is_dir():
        if (path / "MLmodel").is_file():
            return "mlflow"
        raise ModelFileError(
            f"{path} is a folder without an MLmodel file, so not an MLflow model",
            hint="Register a model file (.joblib, .pkl, .skops, .onnx) or an MLflow model folder.",
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in SKLEARN_SUFFIXES:
            return "sklearn"
        if suffix == ".onnx":
            return "onnx"
        raise ModelFileError(
            f"cannot tell the flavor of {path} from its suffix {suffix or '(none)'!r}",
            hint=f"Pass --flavor ({', '.join(FLAVORS)}).",
        )
    if entrypoint.is_reference(target):
        return "entrypoint"
    raise ModelFileError(
        f"model file {path.expanduser().resolve()} does not exist",
        hint="Give a model file, an MLflow model folder, or an entrypoint module.path:function.",
    )


def format_for(flavor: str, name: str) -> str:
    """How the artifact is serialised: joblib/skops for sklearn, else the flavor's one format."""
    return {"sklearn": format_of(name), "entrypoint": "manifest"}.get(flavor, flavor)


def load_artifact(
    flavor: str,
    fmt: str,
    artifact: LocalArtifact,
    *,
    search: Sequence[Path],
    trust: Sequence[str] = (),
) -> LoadedModel:
    """Load a verified artifact as ``flavor``; ``search`` is where entrypoint modules are found,
    ``trust`` what a pickle/joblib file may import beyond the allow-list."""
    kind = ARTIFACT_KINDS[check_flavor(flavor)]
    if kind == "directory":
        if artifact.directory is None:
            raise ModelFileError(
                f"{artifact.label}: the {flavor} flavor needs a model folder, not a file"
            )
        from charter.registry.flavors import mlflow

        return mlflow.load(artifact.directory, artifact.label, artifact.keep_alive)
    if artifact.data is None:
        raise ModelFileError(f"{artifact.label}: the {flavor} flavor needs a file, not a folder")
    if flavor == "sklearn":
        from charter.registry.flavors import sklearn

        return sklearn.load(artifact.data, artifact.label, fmt, trust=trust)
    if flavor == "onnx":
        from charter.registry.flavors import onnx

        return onnx.load(artifact.data, artifact.label)
    return entrypoint.load(artifact.data, search, label=artifact.label)
