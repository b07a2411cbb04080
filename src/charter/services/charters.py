"""Checking charter files: every one in ``charters/``, or the one named."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from charter.errors import CharterError, CharterFileError
from charter.schemas.charters import CheckedCharter
from charter.spec.inferred import InferredContract
from charter.spec.loader import LoadedCharter, line_of, load_charter_file
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


def check_charters(
    ws: Workspace, target: str | None = None, *, data: Path | None = None
) -> list[CharterCheck]:
    """Validate ``target`` (a charter name or file) or, without one, every charter file here.
    Refuses when there is none to check; a file that does not validate is a result, not an
    error. With ``data`` (a sample file), each valid charter's field types are also checked
    against the sample's columns, as ingest would read them (:func:`sample_problems`)."""
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
            problems = [] if data is None else sample_problems(ws, loaded, data)
            results.append(CharterCheck(loaded.charter.name, str(path), problems))
    return results


def sample_problems(ws: Workspace, loaded: LoadedCharter, data: Path) -> list[str]:
    """Where the sample ``data`` does not fit the field types of ``loaded``'s data contract:
    a field missing from it, a column of a type that cannot hold the declared one, values that
    do not read as the declared type. Each names the field and its line in the charter file.
    The sample is read and judged as ``charter contract test`` does (the same engine as
    ingest); the other rules (ranges, allowed values) are that command's to report."""
    from charter.plumbing.dry_run import dry_run

    report = dry_run(ws, loaded, data, examples=1)
    problems = []
    fields = loaded.charter.data.fields
    for change in report.schema_changes:
        column = change["column"]
        if change["kind"] == "missing_column":
            problems.append(_at(loaded, column, "", f"{data.name} has no such column"))
        elif change["kind"] == "type_changed":
            detail = change["detail"].split(";")[0].replace("declared", "declared type", 1)
            problems.append(_at(loaded, column, "type", f"{detail} in {data.name}"))
    changed = {c["column"] for c in report.schema_changes if c["kind"] == "type_changed"}
    for rule, count in report.violations.items():
        column, _, kind = rule.rpartition(".")
        if kind != "type" or column not in fields or column in changed:
            continue
        example = (report.examples.get(rule) or [{}])[0].get(column)
        declared = fields[column].type
        shown = f", e.g. {example!r}" if example is not None else ""
        problems.append(
            _at(
                loaded,
                column,
                "type",
                f"{count:,} of {report.rows_in:,} rows of {data.name} hold values that do not "
                f"read as {declared}{shown}",
            )
        )
    return problems


def _at(loaded: LoadedCharter, column: str, part: str, message: str) -> str:
    """A problem of ``data.fields.COLUMN[.part]``, phrased as the loader phrases its own."""
    loc: list[Any] = ["data", "fields", column, *([part] if part else [])]
    line = line_of(loaded.text, loc)
    return f"{'.'.join(map(str, loc))}: {message}" + (f" (line {line})" if line else "")


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
