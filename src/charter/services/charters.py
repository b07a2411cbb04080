"""Checking charter files: every one in ``charters/``, or the one named."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from charter.errors import CharterError, CharterFileError
from charter.schemas.charters import CheckedCharter
from charter.spec.inferred import InferredContract
from charter.spec.loader import load_charter_file
from charter.workspace import Workspace


@dataclass(frozen=True)
class CharterCheck:
    """One charter file judged: its name, file, and each problem (field path and what is wrong)."""

    name: str
    file: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_schema(self) -> CheckedCharter:
        return CheckedCharter(name=self.name, file=self.file, ok=self.ok, problems=self.problems)

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def check_charters(ws: Workspace, target: str | None = None) -> list[CharterCheck]:
    """Validate ``target`` (a charter name or file) or, without one, every charter file here.
    Refuses when there is none to check; a file that does not validate is a result, not an
    error."""
    paths = [ws.charter_file(target)] if target else ws.charter_files()
    if not paths:
        raise CharterError(
            f"no charters in {ws.charters_dir}", hint="Create one with `charter init NAME`."
        )
    results = []
    for path in paths:
        try:
            loaded = load_charter_file(path)
        except CharterFileError as exc:
            results.append(CharterCheck(Path(path).stem, str(path), list(exc.problems)))
        else:
            results.append(CharterCheck(loaded.charter.name, str(path)))
    return results


def infer_contract_and_model(
    ws: Workspace,
    data: Path,
    *,
    key: str | None = None,
    event_time: str | None = None,
    target: str | None = None,
    model: str | None = None,
) -> InferredContract:
    """The data contract read off ``data`` (``charter init --from-data``) and, with ``model``,
    the inputs the model names (the charter's ``data.features``) and its performance measured
    on the labelled rows of ``data`` (the proposed sufficiency rules, needing ``target``)."""
    from charter.plumbing.inference import infer_contract, read_sample

    contract = infer_contract(data, key=key, event_time=event_time, target=target)
    if model is None:
        return contract
    from charter.monitoring.holdout import measure_holdout
    from charter.registry.flavors import load_artifact, prepare
    from charter.registry.versions import search_paths

    search = search_paths(ws)
    candidate = prepare(model, None, search=search)
    loaded = load_artifact(
        candidate.flavor,
        candidate.format,
        candidate.local,
        search=search,
        trust=sorted(ws.trusted_types),
    )
    frame = read_sample(data)
    measured = measure_holdout(loaded.predictor, frame, contract, model=model)
    return replace(contract, model=measured)
