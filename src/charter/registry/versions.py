"""Model versions: register with lineage, list, look up, load (hash-checked), change status.

Registration does everything that can fail *before* it touches the database: the charter must
load, the model must load as its flavor and read only inputs the charter gives it
(:mod:`.inputs`), the training data must be readable, and the artifact is
written to the store. Only then does one transaction number the version, insert it and append
``version.registered`` (with the full lineage) to the audit ledger. A failure at any step leaves
no row and no ledger entry; at worst an artifact written just before a failed commit stays in the
store, which is harmless because it is content-addressed and nothing refers to it.

The same bytes cannot be registered twice under one charter: the second attempt is refused with
the number of the existing version, because two version numbers for one model would make
approvals and rollbacks ambiguous. Other charters may register the same bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charter.audit import state
from charter.errors import ArtifactTamperedError, RegistryError, VersionNotFoundError
from charter.registry.artifacts import (
    ArtifactStore,
    fetch_tree,
    is_absolute,
    read_bytes,
    sha256_bytes,
    sha256_tree,
)
from charter.registry.charters import record_charter
from charter.registry.flavors import (
    ARTIFACT_KINDS,
    Candidate,
    LocalArtifact,
    Predictor,
    entrypoint,
    load_artifact,
    prepare,
)
from charter.registry.inputs import check_inputs
from charter.registry.lineage import build_lineage, json_safe
from charter.registry.mlflow_uris import FetchedModel, is_mlflow_uri
from charter.registry.mlflow_uris import fetch as fetch_mlflow
from charter.schemas import versions as schemas
from charter.spec.model import Charter
from charter.store import Session
from charter.store import versions as store_versions
from charter.store.statuses import VersionStatus
from charter.store.tables import ModelVersion
from charter.workspace import Workspace

#: What a registration stores beside the version: given the charter and the loaded model (before
#: anything is written), returns what to write in the registration's transaction
#: ``(session, version)``.
Attach = Callable[[Charter, Predictor], Callable[[Session, str], None]]

STATUSES = tuple(status.value for status in VersionStatus)


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version, as stored.

    ``artifact_key`` is what the row records (a key in the workspace's artifact store, or an
    absolute URI for an artifact kept elsewhere); ``artifact_uri`` is where that is now.
    """

    charter: str
    version: int
    sha256: str
    flavor: str
    status: str
    artifact_uri: str
    lineage: Mapping[str, Any]
    created_at: datetime
    created_by: str
    status_changed_at: datetime
    artifact_key: str

    @classmethod
    def from_row(cls, row: ModelVersion, store: ArtifactStore) -> VersionInfo:
        recorded = row.artifact_uri
        return cls(
            charter=row.charter,
            version=row.version,
            sha256=row.sha256,
            flavor=row.flavor,
            status=row.status,
            artifact_uri=recorded if is_absolute(recorded) else store.uri(recorded),
            lineage=dict(row.lineage),
            created_at=row.created_at,
            created_by=row.created_by,
            status_changed_at=row.status_changed_at,
            artifact_key=recorded,
        )

    @property
    def artifact_name(self) -> str:
        return str(self.lineage.get("artifact", {}).get("name", ""))

    def to_schema(self) -> schemas.Version:
        return schemas.Version(
            charter=self.charter,
            version=self.version,
            sha256=self.sha256,
            flavor=self.flavor,
            status=self.status,
            artifact_uri=self.artifact_uri,
            created_at=self.created_at,
            created_by=self.created_by,
            status_changed_at=self.status_changed_at,
            lineage=dict(self.lineage),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON shape; ``version``, ``sha256``, ``flavor`` and ``status`` are relied on by scripts."""
        return self.to_schema().to_json_dict()


def search_paths(ws: Workspace) -> list[Path]:
    """Where entrypoint modules are imported from: the current folder, then the workspace."""
    return list(dict.fromkeys([Path.cwd(), ws.root]))


# -- registering ------------------------------------------------------------------------------
def register_version(
    ws: Workspace,
    name: str,
    model: str | Path,
    *,
    flavor: str | None = None,
    training_data: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    attach: Attach | None = None,
    trust: Sequence[str] = (),
) -> VersionInfo:
    """Store ``model`` (a file, an MLflow folder, ``module:function``, or a model in the MLflow
    tracking store of ``MLFLOW_TRACKING_URI``: ``models:/NAME/3``, ``models:/NAME@ALIAS``,
    ``runs:/RUN_ID/PATH``, downloaded, with its run's id, metrics and parameters in the
    lineage) as the next version.

    ``attach`` is what a caller stores with the version (the monitoring reference, composed by
    :func:`charter.services.registry.register`): it is called with the charter and the loaded
    model before anything is stored (it may refuse), and what it returns is called inside the
    registration's transaction with the new version's number.
    ``trust`` names classes a pickle/joblib file may import beyond the allow-list (with those
    of ``CHARTER_TRUSTED_TYPES``); they are recorded in the lineage and trusted again at load.
    """
    target = str(model)
    if not is_mlflow_uri(target):
        return _register(ws, name, target, flavor, training_data, params, metadata, attach, trust)
    ws.charter_path(name)  # an unknown charter is refused before anything is downloaded
    with tempfile.TemporaryDirectory(prefix="charter-mlflow-") as scratch:
        fetched = fetch_mlflow(target, Path(scratch))
        if flavor not in (None, "mlflow"):
            raise RegistryError(f"{target} is an MLflow model: its flavor is mlflow, not {flavor}")
        return _register(
            ws,
            name,
            target,
            "mlflow",
            training_data,
            {**fetched.params, **(params or {})},
            metadata,
            attach,
            trust,
            fetched=fetched,
        )


def _register(
    ws: Workspace,
    name: str,
    model: str,
    flavor: str | None,
    training_data: str | Path | None,
    params: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    attach: Attach | None,
    trust: Sequence[str],
    *,
    fetched: FetchedModel | None = None,
) -> VersionInfo:
    """Register ``model`` (for an MLflow URI, the folder ``fetched`` downloaded)."""
    loaded_charter = ws.load(name)
    name = loaded_charter.charter.name
    search = search_paths(ws)
    local = model if fetched is None else str(fetched.directory)
    candidate = prepare(local, flavor, search=search)
    trusted = sorted({*trust, *ws.trusted_types})
    loaded = load_artifact(
        candidate.flavor, candidate.format, candidate.local, search=search, trust=trusted
    )
    check_inputs(loaded_charter.charter, loaded.predictor, model=str(model))
    write = attach(loaded_charter.charter, loaded.predictor) if attach is not None else None
    lineage = build_lineage(
        candidate, loaded, training_data=training_data, params=params, metadata=metadata
    )
    if trusted and candidate.format == "joblib":
        lineage["artifact"]["trusted"] = trusted
    if fetched is not None:  # the URI, not the scratch folder it was downloaded to
        lineage["artifact"]["source"] = model
        lineage["mlflow"] = json_safe(fetched.lineage)
    with ws.db.read() as session:  # cheap early refusal, before writing any artifact
        _refuse_duplicate(session, name, candidate.sha256)
    store = ArtifactStore.for_workspace(ws)
    key = _store(store, candidate)
    now = ws.context.clock()
    with ws.db.session() as session:
        ws.db.serialize(session, f"registry:{name}")
        record_charter(ws, session, loaded_charter)
        _refuse_duplicate(session, name, candidate.sha256)
        latest = store_versions.latest_number(session, name)
        row = ModelVersion(
            charter=name,
            version=(latest or 0) + 1,
            sha256=candidate.sha256,
            flavor=candidate.flavor,
            artifact_uri=key,
            # The pilot runs on the production path: a charter's very first version starts in
            # shadow, scored on every live batch beside (eventually) the live one.
            status="shadow" if latest is None else "registered",
            lineage=lineage,
            created_at=now,
            created_by=ws.context.who,
            status_changed_at=now,
        )
        store_versions.add(session, row)
        payload: dict[str, Any] = {
            "version": row.version,
            "status": row.status,
            "sha256": row.sha256,
            "flavor": row.flavor,
            "artifact_uri": key,
            "lineage": lineage,
        }
        payload = state.bound(payload, state.seal(state.MODEL_VERSION, row))
        ws.ledger.append(session, "version.registered", payload, actor=ws.context.who, charter=name)
        if write is not None:
            write(session, str(row.version))
    return VersionInfo.from_row(row, store)


def _store(store: ArtifactStore, candidate: Candidate) -> str:
    if candidate.local.directory is not None:
        return store.put_tree(candidate.sha256, candidate.local.directory)
    assert candidate.local.data is not None
    return store.put_bytes(candidate.sha256, candidate.name, candidate.local.data)


def _refuse_duplicate(session: Session, name: str, sha256: str) -> None:
    existing = store_versions.by_sha256(session, name, sha256)
    if existing is not None:
        raise RegistryError(
            f"this model (sha256 {sha256}) is already registered as {name} version "
            f"{existing.version} (status {existing.status})",
            hint="Use that version; a model is registered once per charter.",
        )


# -- reading ----------------------------------------------------------------------------------
def list_versions(ws: Workspace, name: str) -> list[VersionInfo]:
    """Every version of a charter, oldest first. Versions outlive their charter file."""
    with ws.db.read() as session:
        rows = store_versions.of_charter(session, name)
        state.check(session, state.MODEL_VERSION, rows)
        store = ArtifactStore.for_workspace(ws)
        versions = [VersionInfo.from_row(row, store) for row in rows]
    if not versions:
        ws.charter_path(name)  # raises CharterNotFoundError for a name nobody knows
    return versions


def list_versions_of(ws: Workspace, names: Sequence[str]) -> dict[str, list[VersionInfo]]:
    """:func:`list_versions` of every charter of ``names`` in one query (the overview); a
    charter whose rows do not match the ledger raises, as :func:`list_versions` does."""
    out: dict[str, list[VersionInfo]] = {n: [] for n in names}
    with ws.db.read() as session:
        rows = store_versions.of_charters(session, names)
        state.check(session, state.MODEL_VERSION, rows)
        store = ArtifactStore.for_workspace(ws)
        for row in rows:
            out[row.charter].append(VersionInfo.from_row(row, store))
    return out


def get_version(ws: Workspace, name: str, version: int) -> VersionInfo:
    with ws.db.read() as session:
        row = store_versions.get(session, name, version)
        if row is not None:
            state.check(session, state.MODEL_VERSION, [row])
            return VersionInfo.from_row(row, ArtifactStore.for_workspace(ws))
    known = [v.version for v in list_versions(ws, name)]
    listing = ", ".join(str(v) for v in known) if known else "none yet"
    raise VersionNotFoundError(
        f"{name} has no version {version}",
        hint=f"Versions of {name}: {listing}."
        + ("" if known else " Register one with `charter register NAME MODEL_FILE`."),
    )


def load_model(ws: Workspace, name: str, version: int) -> Predictor:
    """The version's model, ready to score. Its bytes are re-hashed before anything loads them."""
    info = get_version(ws, name, version)
    artifact = _fetch_verified(ws, info)
    fmt = str(info.lineage.get("artifact", {}).get("format", info.flavor))
    trusted = [*info.lineage.get("artifact", {}).get("trusted", []), *ws.trusted_types]
    return load_artifact(
        info.flavor, fmt, artifact, search=search_paths(ws), trust=trusted
    ).predictor


def verify_version(ws: Workspace, name: str, version: int) -> VersionInfo:
    """Re-hash the version's artifact (and an entrypoint's source) without loading it;
    raises :class:`ArtifactTamperedError` when anything changed since registration."""
    info = get_version(ws, name, version)
    artifact = _fetch_verified(ws, info)
    if info.flavor == "entrypoint" and artifact.data is not None:
        entrypoint.check_source(artifact.data, search_paths(ws), label=artifact.label)
    return info


def _fetch_verified(ws: Workspace, info: VersionInfo) -> LocalArtifact:
    store = ArtifactStore.for_workspace(ws)
    uri = store.locate(info.artifact_key, info.sha256, info.artifact_name)
    label = f"{info.charter} version {info.version} ({info.artifact_name})"
    kind = info.lineage.get("artifact", {}).get("kind", ARTIFACT_KINDS.get(info.flavor))
    if kind == "directory":
        keep_alive = tempfile.TemporaryDirectory(prefix="charter-model-")
        directory = Path(keep_alive.name) / info.artifact_name
        fetch_tree(uri, directory)
        _check_hash(info, uri, sha256_tree(directory))
        return LocalArtifact(info.artifact_name, label, directory=directory, keep_alive=keep_alive)
    data = read_bytes(uri)
    _check_hash(info, uri, sha256_bytes(data))
    return LocalArtifact(info.artifact_name, label, data=data)


def _check_hash(info: VersionInfo, uri: str, actual: str) -> None:
    if actual != info.sha256:
        raise ArtifactTamperedError(
            f"the artifact of {info.charter} version {info.version} was modified after "
            f"registration: {info.artifact_name} at {uri} should have sha256 {info.sha256} "
            f"but has {actual}",
            hint="It was not loaded. Restore it from a backup, or register the model again.",
        )


# -- status -----------------------------------------------------------------------------------
def set_status(
    ws: Workspace,
    session: Session,
    name: str,
    version: int,
    status: str,
    *,
    reason: str | None = None,
) -> VersionInfo:
    """Move a version to ``status`` in ``session``'s transaction and append
    ``version.status_changed``. Which transitions are allowed is decided by the operations
    layer (promotion gate, rollback), not here."""
    if status not in STATUSES:
        raise RegistryError(f"unknown status {status!r}", hint=f"Statuses: {', '.join(STATUSES)}.")
    row = store_versions.get(session, name, version)
    if row is None:
        raise VersionNotFoundError(f"{name} has no version {version}")
    state.check(session, state.MODEL_VERSION, [row])  # a change never builds on a forged row
    previous = row.status
    store_versions.set_status(session, row, status, at=datetime.now(UTC))
    payload = {"version": version, "from": previous, "to": status, "reason": reason}
    payload = state.bound(payload, state.seal(state.MODEL_VERSION, row))
    ws.ledger.append(session, "version.status_changed", payload, actor=ws.context.who, charter=name)
    return VersionInfo.from_row(row, ArtifactStore.for_workspace(ws))
