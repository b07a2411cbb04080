"""A workspace: a folder with ``charters/`` and, unless settings say otherwise, ``.charter/`` state."""

from __future__ import annotations

import contextlib
import copy
import getpass
import logging
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from charter.context import Context
from charter.errors import CharterError, CharterNotFoundError, WorkspaceError
from charter.identity import check_actor, check_charter_name
from charter.settings import Settings
from charter.spec.loader import LoadedCharter, load_charter_file

if TYPE_CHECKING:  # the store and the ledger load on first use: `charter check` needs neither
    from charter.audit.ledger import Ledger
    from charter.store.database import Database

CHARTERS_DIR = "charters"
STATE_DIR = ".charter"

_log = logging.getLogger("charter.governance")


class Workspace:
    """Where charters live and where their state is kept. Cheap to create; opens the store lazily."""

    def __init__(self, root: Path | str | None = None, *, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.root = (
            Path(root).expanduser().resolve() if root else self.settings.resolved_workspace()
        )
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"workspace {self.root} is a file, not a folder")
        #: Where notices go (the CLI prints them on stderr); each is given once per workspace.
        self.on_notice: Callable[[str], None] = _log.warning
        self._noticed: set[str] = set()
        self._context: Context | None = None

    # -- paths ----------------------------------------------------------------------------
    @property
    def charters_dir(self) -> Path:
        return self.root / CHARTERS_DIR

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def database_url(self) -> str:
        return self.settings.database_url or f"sqlite:///{self.state_dir / 'charter.db'}"

    @property
    def artifacts_url(self) -> str:
        return self.settings.artifacts or str(self.state_dir / "artifacts")

    @property
    def artifacts_root(self) -> str:
        """The artifact store's root: a URL, or a folder (a relative one is under the root)."""
        url = self.artifacts_url
        return url if "://" in url else str(self.resolve(url))

    @property
    def lake_url(self) -> str:
        """``CHARTER_LAKE``, or the state folder itself: a workspace made before the lake existed
        keeps its logs where they are (``.charter/predictions/``, ``quarantine/``, ``labels/``)."""
        return self.settings.lake or str(self.state_dir)

    @property
    def lake_root(self) -> str:
        """The lake's root: a URL, or a folder (a relative one is under the workspace root)."""
        url = self.lake_url
        return url if "://" in url else str(self.resolve(url))

    @property
    def audit_key_file(self) -> Path:
        return self.settings.audit_key_file or self.state_dir / "keys" / "audit.key"

    @property
    def trusted_types(self) -> list[str]:
        """``CHARTER_TRUSTED_TYPES``: what pickle files may import beyond the allow-list."""
        text = self.settings.trusted_types or ""
        return [name.strip() for name in text.split(",") if name.strip()]

    @property
    def context(self) -> Context:
        """Who acts, the settings and the clock of what this workspace does
        (:mod:`charter.context`). A workspace opened by a process acts as the process's own
        identity (CHARTER_ACTOR, else $USER@host); :meth:`acting_as` gives one acting as another."""
        if self._context is not None:
            return self._context
        return Context(actor=self._raw_actor(), settings=self.settings)

    def with_context(self, context: Context) -> Workspace:
        """A view of this workspace under ``context``: the same folder, database, ledger and
        artifact store (opened here, on this workspace, so the view shares them), another actor,
        settings or clock. Closing the view closes the shared store."""
        _ = self.db, self.ledger
        view = copy.copy(self)
        view.settings = context.settings
        view._context = context
        return view

    def acting_as(self, actor: str, credential: Mapping[str, Any] | None = None) -> Workspace:
        """A view of this workspace whose actor is ``actor`` (checked now: an invalid identity is
        refused before anything is done in its name), proven by ``credential`` when given (it is
        recorded with the decisions made in its name)."""
        check_actor(actor, what="the acting identity")
        return self.with_context(self.context.acting_as(actor, credential))

    def _raw_actor(self) -> str:
        if self.settings.actor:
            return self.settings.actor
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return f"{user}@{socket.gethostname()}"

    def resolve(self, path: str | Path) -> Path:
        """A path from a charter file: relative paths are relative to the workspace root."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    # -- state ----------------------------------------------------------------------------
    @cached_property
    def db(self) -> Database:
        """The migrated metadata database (opened on first use)."""
        from charter.store.database import Database

        return Database(self.database_url, artifacts=self.artifacts_root)

    @cached_property
    def ledger(self) -> Ledger:
        """The audit ledger in this workspace's database."""
        from charter.audit.ledger import Ledger
        from charter.audit.signing import AuditKey

        key = AuditKey(
            self.audit_key_file,
            algorithm=self.settings.audit_algorithm,
            command=self.settings.audit_key_command,
            public_key=self.settings.audit_public_key,
        )
        return Ledger(self.db, key)

    @contextlib.contextmanager
    def exclusive(
        self,
        lock: str,
        *,
        busy: str,
        hint: str,
        wait: float = 0.0,
        on_wait: Callable[[], None] | None = None,
    ) -> Iterator[None]:
        """Hold ``.charter/locks/<lock>.lock`` for the block: one run at a time of work that must
        not interleave (ingest, replay, labels, retraining). A lock taken by another run is
        waited for up to ``wait`` seconds (0: refuse at once; ``on_wait`` is called before
        waiting), then refused with ``busy``."""
        folder = self.state_dir / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        held = filelock.FileLock(str(folder / f"{lock}.lock"))
        try:
            held.acquire(timeout=0)
        except filelock.Timeout:
            if wait <= 0:
                raise CharterError(busy, hint=hint) from None
            if on_wait is not None:
                on_wait()
            try:
                held.acquire(timeout=wait)
            except filelock.Timeout:
                raise CharterError(f"{busy} (waited {wait:g}s)", hint=hint) from None
        try:
            yield
        finally:
            held.release()

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
            del self.__dict__["db"]
        self.__dict__.pop("ledger", None)

    # -- charters -------------------------------------------------------------------------
    def charter_names(self) -> list[str]:
        if not self.charters_dir.is_dir():
            return []
        return sorted(p.stem for p in self.charters_dir.iterdir() if p.suffix in (".yaml", ".yml"))

    def charter_files(self) -> list[Path]:
        """Every charter file in ``charters/``, whatever its name (``charter check`` judges it)."""
        if not self.charters_dir.is_dir():
            return []
        found = (p for p in self.charters_dir.iterdir() if p.suffix in (".yaml", ".yml"))
        return sorted(found, key=lambda p: (p.stem, p.suffix))

    def charter_path(self, name: str) -> Path:
        """The file of the charter called ``name`` in ``charters/``; a name is never a path."""
        check_charter_name(name)
        for suffix in (".yaml", ".yml"):
            candidate = self.charters_dir / f"{name}{suffix}"
            if candidate.exists():
                return candidate
        known = ", ".join(self.charter_names()) or "none yet; create one with `charter init NAME`"
        raise CharterNotFoundError(
            f"no charter named {name!r} in {self.charters_dir}",
            hint=f"Charters here: {known}.",
        )

    def charter_file(self, name_or_file: str) -> Path:
        """For ``charter check`` only: a FILE (a path, or a name ending .yaml/.yml) or a name."""
        as_path = Path(name_or_file)
        if as_path.suffix in (".yaml", ".yml") or len(as_path.parts) > 1:
            return as_path if as_path.is_absolute() else Path.cwd() / as_path
        return self.charter_path(name_or_file)

    def load(self, name: str) -> LoadedCharter:
        """The charter called ``name`` (in ``charters/``, never elsewhere), validated, as the
        **terms in force**: the file when it matches the accepted text, else the accepted text
        while a change waits for the owner. Every change of the file is recorded here, at once
        (:mod:`charter.governance.terms`)."""
        from charter.governance.terms import terms_in_force  # governance stands on the workspace

        return terms_in_force(self, self.load_file(name))

    def load_many(self, names: Sequence[str]) -> list[LoadedCharter | CharterError]:
        """:meth:`load` of each of ``names``, the terms read for all at once (the overview); an
        unreadable charter is its error, in its place, and never hides the others."""
        from charter.governance.terms import terms_in_force_of

        files: list[LoadedCharter | CharterError] = []
        for name in names:
            try:
                files.append(self.load_file(name))
            except CharterError as exc:
                files.append(exc)
        read = iter(terms_in_force_of(self, [f for f in files if isinstance(f, LoadedCharter)]))
        return [f if isinstance(f, CharterError) else next(read) for f in files]

    def load_file(self, name: str) -> LoadedCharter:
        """The charter file called ``name`` as written now, validated, without change control."""
        return load_charter_file(self.charter_path(name))

    def notify(self, message: str) -> None:
        """Tell the person running charter something they must know, once."""
        if message not in self._noticed:
            self._noticed.add(message)
            self.on_notice(message)
