"""Registering a model version (with its monitoring reference) and verifying stored artifacts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from charter.monitoring.reference import store_reference, summarise_file
from charter.registry.flavors import Predictor
from charter.registry.versions import (
    Attach,
    VersionInfo,
    list_versions,
    verify_version,
)
from charter.registry.versions import register_version as store_version
from charter.spec.model import Charter
from charter.store import Session
from charter.workspace import Workspace


def register(
    ws: Workspace,
    name: str,
    model: str | Path,
    *,
    flavor: str | None = None,
    training_data: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    reference: str | Path | None = None,
    trust: Sequence[str] = (),
) -> VersionInfo:
    """Store ``model`` (a file, an MLflow folder or ``module:function``) as the next version.

    ``reference`` is labelled data summarised as the version's monitoring reference, scored by
    this model before anything is stored and recorded in the same transaction as the version.
    ``trust`` names classes a pickle/joblib file may import beyond the allow-list (with those
    of ``CHARTER_TRUSTED_TYPES``); they are recorded in the lineage and trusted again at load.
    """
    return store_version(
        ws,
        name,
        model,
        flavor=flavor,
        training_data=training_data,
        params=params,
        metadata=metadata,
        attach=None if reference is None else _reference(ws, reference),
        trust=trust,
    )


#: The public name (``charter.register_version``).
register_version = register


def _reference(ws: Workspace, file: str | Path) -> Attach:
    """The registration hook that summarises ``file`` with the new model, then stores it."""

    def prepare(charter: Charter, predictor: Predictor) -> Callable[[Session, str], None]:
        summarised = summarise_file(charter, file, predictor)

        def write(session: Session, version: str) -> None:
            store_reference(ws, session, charter.name, version, summarised)

        return write

    return prepare


def verify_versions(ws: Workspace, name: str) -> list[VersionInfo]:
    """Every version of ``name``, oldest first, after re-hashing each stored artifact; the first
    one modified since registration is refused (:class:`~charter.errors.ArtifactTamperedError`,
    naming it)."""
    found = list_versions(ws, name)
    for version in found:
        verify_version(ws, name, version.version)
    return found
