"""A plain Python function ``module.path:function`` as a model.

The function is called with the Polars frame and must return one value per row. There is no
file to store, so the registered artifact is a small manifest naming the entrypoint and the
SHA-256 of its module's source file and of its whole top-level package
(:mod:`~charter.registry.flavors.entrypoint_package`). At load time, and at ``versions --verify``,
both are hashed again *before* anything of the module runs (the files are found without importing
their packages): a version is immutable, so code that changed since registration is refused, just
as a changed pickle is. The import reads sources only, never cached bytecode.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from charter.errors import ArtifactTamperedError, ModelFileError, UserCodeError
from charter.registry.artifacts import sha256_file
from charter.registry.flavors import entrypoint_package
from charter.registry.flavors.base import LoadedModel, guarded, to_scores

REFERENCE = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")
MANIFEST_NAME = "entrypoint.json"


class EntrypointPredictor:
    flavor = "entrypoint"
    features: list[str] | None = None

    def __init__(self, function: Callable[[pl.DataFrame], Any], reference: str) -> None:
        self.function = function
        self.reference = reference

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        source = f"the entrypoint {self.reference}"
        raw = guarded(source, lambda: self.function(frame))
        return to_scores(raw, frame.height, source)


def is_reference(target: str) -> bool:
    return REFERENCE.match(target) is not None


@contextlib.contextmanager
def importable_from(paths: Sequence[Path]) -> Iterator[None]:
    """Let ``paths`` be searched first while importing, as ``python -m`` does for the cwd."""
    added = [str(p) for p in dict.fromkeys(paths) if str(p) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def source_of(reference: str, search: Sequence[Path]) -> Path | None:
    """The module's source file, found without running the module itself."""
    match = REFERENCE.match(reference)
    if match is None:
        raise ModelFileError(f"{reference!r} is not an entrypoint of the form module.path:function")
    module = match["module"]
    located = entrypoint_package.locate(module, search)
    if located is not None:
        return located.module_file
    with importable_from(search):
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError as exc:  # a parent package is missing
            spec, module = None, exc.name or module
        except Exception as exc:  # a parent package failed while importing
            raise UserCodeError(
                f"the entrypoint {reference}: importing the packages of {module!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if spec is None:
        raise ModelFileError(
            f"the entrypoint {reference}: no module named {module!r}",
            hint="It must be importable from the current folder or the workspace "
            f"({', '.join(str(p) for p in search)}), or installed.",
        )
    origin = Path(spec.origin) if spec.origin and spec.has_location else None
    return origin if origin is not None and origin.is_file() else None


def manifest(reference: str, search: Sequence[Path]) -> bytes:
    """The bytes stored for an entrypoint version; their SHA-256 is the version's hash."""
    source = source_of(reference, search)
    body: dict[str, Any] = {
        "entrypoint": reference,
        "source_sha256": sha256_file(source) if source else None,
    }
    located = entrypoint_package.locate(reference.split(":", 1)[0], search)
    if located is not None:
        body["package_sha256"] = entrypoint_package.package_sha256(located, label=reference)
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def check_source(data: bytes, search: Sequence[Path], *, label: str) -> tuple[str, Path | None]:
    """The manifest's entrypoint and module file, after checking the file still has the
    registered hash. Nothing of the module runs here."""
    try:
        body = json.loads(data)
        reference, expected = str(body["entrypoint"]), body["source_sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{label}: the entrypoint manifest is malformed: {exc}") from exc
    source = source_of(reference, search)
    actual = sha256_file(source) if source else None
    if actual != expected:
        raise ArtifactTamperedError(
            f"{label}: the source of entrypoint {reference} ({source}) changed since registration: "
            f"expected sha256 {expected}, found {actual}",
            hint="A registered version is immutable; register the new code as a new version.",
        )
    if "package_sha256" in body:  # manifests before package pinning name the source only
        located = entrypoint_package.locate(reference.split(":", 1)[0], search)
        package = entrypoint_package.package_sha256(located, label=label) if located else None
        if package != body["package_sha256"]:
            raise ArtifactTamperedError(
                f"{label}: the package of entrypoint {reference} changed since registration "
                "(a parent __init__.py, a sibling module, or an added file): expected sha256 "
                f"{body['package_sha256']}, found {package}",
                hint="A registered version is immutable; register the new code as a new version.",
            )
    return reference, source


def _forget(module_name: str, search: Sequence[Path]) -> None:
    """Drop the module, and its parent packages found on ``search``, so they import afresh
    (installed packages, charter's own included, are left alone)."""
    sys.modules.pop(module_name, None)
    parts = module_name.split(".")
    for end in range(1, len(parts)):
        parent = sys.modules.get(".".join(parts[:end]))
        where = getattr(parent, "__file__", None)
        homes = {root.joinpath(*parts[:end]).resolve() for root in search}
        if where and Path(where).resolve().parent in homes:
            sys.modules.pop(".".join(parts[:end]), None)


def load(data: bytes, search: Sequence[Path], *, label: str) -> LoadedModel:
    """Check the module source against the manifest ``data``, then import the function."""
    reference, source = check_source(data, search, label=label)
    function = import_function(reference, search, fresh=True)
    details = {"entrypoint": reference, "source_file": str(source) if source else None}
    predictor = EntrypointPredictor(function, reference)
    return LoadedModel(predictor, "entrypoint", reference, {}, details)


def import_function(
    reference: str, search: Sequence[Path], *, what: str = "the entrypoint", fresh: bool = False
) -> Callable[..., Any]:
    """The callable ``module.path:function``, imported with ``search`` first on the path.

    ``what`` names it in errors; ``fresh`` imports the module again even if it was imported
    before (its code may have been fixed since). A module that does not import or lacks the
    attribute is a :class:`ModelFileError`; one that raises while importing, a
    :class:`UserCodeError` (``SystemExit`` included: user code never ends charter).
    """
    module_name, attr_path = reference.split(":", 1)
    with importable_from(search), entrypoint_package.clean_import():
        if fresh:
            importlib.invalidate_caches()
            _forget(module_name, search)
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelFileError(
                f"{what} {reference}: module {module_name!r} does not import: "
                f"{type(exc).__name__}: {exc}",
                hint=f"It must be importable from {', '.join(map(str, search))}, or installed.",
            ) from exc
        except (Exception, SystemExit) as exc:
            raise UserCodeError(
                f"{what} {reference}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
            ) from exc
    for part in attr_path.split("."):
        if not hasattr(target, part):
            raise ModelFileError(f"{what} {reference}: {module_name} has no {attr_path!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ModelFileError(f"{what} {reference}: {attr_path!r} is not callable")
    return target  # type: ignore[no-any-return]
