"""Pinning an entrypoint model by its whole importable package, checked before anything runs.

Importing ``pkg.sub.mod`` runs ``pkg/__init__.py`` and ``pkg/sub/__init__.py`` first, and Python
prefers a compiled ``.pyc`` (or an extension module) over the source it sits beside. So the hash
of one source file says little. An entrypoint version is pinned by the SHA-256 of every ``.py``
(and extension module) of the top-level package its module lives in; the files are found on the
file system, without importing anything, and a stray ``.pyc`` outside ``__pycache__`` is refused.
The import itself (:func:`clean_import`) writes no bytecode and reads none from ``__pycache__``:
``sys.pycache_prefix`` points at an empty folder for its duration.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from charter.errors import ArtifactTamperedError
from charter.registry.artifacts import sha256_file, tree_digest

PINNED_SUFFIXES = (".py", ".so", ".pyd")


@dataclass(frozen=True)
class Located:
    """Where a module's code is: its file, and the root of its top-level package (if any)."""

    module_file: Path
    package_root: Path | None


def locate(module: str, search: Sequence[Path]) -> Located | None:
    """The module's file on ``search`` then ``sys.path``, found without importing anything."""
    parts = module.split(".")
    roots = [*search, *(Path(p) for p in sys.path if p)]
    for base in dict.fromkeys(roots):
        folder = base.joinpath(*parts[:-1])
        if not all(
            (base.joinpath(*parts[: i + 1]) / "__init__.py").is_file()
            for i in range(len(parts) - 1)
        ):
            continue
        for candidate in (folder / f"{parts[-1]}.py", folder / parts[-1] / "__init__.py"):
            if candidate.is_file():
                top = base / parts[0]
                package = top if (top / "__init__.py").is_file() else None
                return Located(candidate, package)
    return None


def package_files(located: Located) -> list[tuple[str, Path]]:
    """The pinned files: the whole top-level package, or the lone module file."""
    if located.package_root is None:
        return [(located.module_file.name, located.module_file)]
    root = located.package_root
    return sorted(
        (p.relative_to(root.parent).as_posix(), p)
        for p in root.rglob("*")
        if p.is_file() and p.suffix in PINNED_SUFFIXES and "__pycache__" not in p.parts
    )


def stray_bytecode(located: Located) -> list[Path]:
    """Compiled files that Python would import instead of (or beside) the pinned sources."""
    if located.package_root is not None:
        return sorted(
            p for p in located.package_root.rglob("*.pyc") if "__pycache__" not in p.parts
        )
    stem, folder = located.module_file.stem, located.module_file.parent
    return sorted(
        p
        for p in folder.glob(f"{stem}.*")
        if p.suffix in (".pyc", ".so", ".pyd") and p.name.split(".")[0] == stem
    )


def package_sha256(located: Located, *, label: str) -> str:
    """The hash of the package's pinned files; refuses stray bytecode by name."""
    stray = stray_bytecode(located)
    if stray:
        raise ArtifactTamperedError(
            f"{label}: compiled files would run instead of the pinned source: "
            + ", ".join(str(p) for p in stray),
            hint="Delete them; charter imports entrypoints from their .py sources only.",
        )
    return tree_digest((name, sha256_file(path)) for name, path in package_files(located))


@contextlib.contextmanager
def clean_import() -> Iterator[None]:
    """Import from sources only: no ``.pyc`` is read from ``__pycache__`` or written anywhere."""
    saved = sys.dont_write_bytecode, sys.pycache_prefix
    with tempfile.TemporaryDirectory(prefix="charter-nopyc-") as empty:
        sys.dont_write_bytecode, sys.pycache_prefix = True, empty
        try:
            yield
        finally:
            sys.dont_write_bytecode, sys.pycache_prefix = saved
