"""``services.registry``: a version registers with its reference in one go; artifacts re-hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import polars as pl
import pytest

from charter.errors import ArtifactTamperedError, DataError
from charter.monitoring.reference import load_reference
from charter.registry.versions import list_versions
from charter.services.registry import register, verify_versions


def _reference_file(mkit: Any, *, drop: tuple[str, ...] = ()) -> Path:
    frame = mkit.world(2000, seed=3)
    frame = frame.with_columns(outcome=pl.Series(mkit.true_outcome(frame, 3))).drop(*drop)
    path: Path = mkit.ws.root / "reference.parquet"
    frame.drop("event_at").write_parquet(path)
    return path


def test_register_stores_the_version_and_its_reference(mkit: Any) -> None:
    info = register(mkit.ws, mkit.name, mkit.model_file, reference=_reference_file(mkit))

    assert info.version == 1
    stored = load_reference(mkit.ws, mkit.name, "1", "registration")
    assert stored is not None and stored.rows == 2000 and stored.labelled == 2000


def test_a_reference_that_cannot_be_summarised_registers_nothing(mkit: Any) -> None:
    without_amount = _reference_file(mkit, drop=("amount",))

    with pytest.raises(DataError, match="the reference lacks the model input"):
        register(mkit.ws, mkit.name, mkit.model_file, reference=without_amount)

    assert list_versions(mkit.ws, mkit.name) == []


def test_verify_versions_names_a_tampered_artifact(mkit: Any) -> None:
    info = register(mkit.ws, mkit.name, mkit.model_file)
    assert [v.version for v in verify_versions(mkit.ws, mkit.name)] == [1]
    Path(unquote(urlparse(info.artifact_uri).path)).write_bytes(
        b"not the model that was registered"
    )

    with pytest.raises(ArtifactTamperedError) as refused:
        verify_versions(mkit.ws, mkit.name)

    assert f"{mkit.name} version 1 was modified after registration" in refused.value.message
