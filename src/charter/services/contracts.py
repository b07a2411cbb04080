"""Data contracts in and out: import from ODCS v3, Great Expectations or Pandera, export to
ODCS v3, and the dry run of ingestion (``charter contract import|export|test``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Literal

from charter.errors import CharterError
from charter.plumbing.dry_run import DryRun, dry_run
from charter.schemas import contracts as schemas
from charter.spec.interop.common import ImportedContract, Unmapped
from charter.workspace import Workspace

Standard = Literal["odcs", "great-expectations", "pandera"]
STANDARDS: tuple[Standard, ...] = ("odcs", "great-expectations", "pandera")


def read_contract(
    ws: Workspace, source: str, *, standard: Standard | None = None, object_name: str | None = None
) -> ImportedContract:
    """The data contract in ``source``: an ODCS YAML file, an expectation suite JSON file, or a
    Pandera schema named ``module:attribute``. ``standard`` defaults from the source's form."""
    chosen = standard or guess_standard(source)
    if chosen == "pandera":
        from charter.spec.interop.pandera import read_pandera

        return read_pandera(load_object(ws, source), source=source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CharterError(f"{source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CharterError(f"{source} cannot be read: {exc}") from None
    if chosen == "great-expectations":
        from charter.spec.interop.expectations import parse_suite

        return parse_suite(text, source=source)
    from charter.spec.interop.odcs import parse_odcs

    return parse_odcs(text, source=source, object_name=object_name)


def guess_standard(source: str) -> Standard:
    if source.lower().endswith(".json"):
        return "great-expectations"
    if (
        ":" in source
        and not Path(source).exists()
        and not source.lower().endswith((".yaml", ".yml"))
    ):
        return "pandera"
    return "odcs"


def load_object(ws: Workspace, target: str) -> object:
    """``module:attribute`` imported (from the current folder or the workspace); errors name it."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise CharterError(f"{target!r} is not module:attribute", hint="e.g. claims.schemas:CLAIMS")
    added = [p for p in (str(Path.cwd()), str(ws.root)) if p not in sys.path]
    sys.path[:0] = added
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise CharterError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from exc
    finally:
        for path in added:
            sys.path.remove(path)
    value = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise CharterError(f"{module_name} has no attribute {attribute!r}")
        value = getattr(value, part)
    return value


def import_contract(
    ws: Workspace,
    name: str,
    imported: ImportedContract,
    *,
    key: str | None = None,
    event_time: str | None = None,
) -> schemas.ContractImport:
    """Write ``imported`` as the data contract of ``charters/NAME.yaml`` (created when missing)."""
    from charter.spec.interop.writing import write_contract

    written = write_contract(ws.charters_dir, name, imported, key=key, event_time=event_time)
    return schemas.ContractImport(
        charter=name,
        file=str(written.path),
        created=written.created,
        source=imported.source,
        standard=imported.standard,
        key=written.key,
        event_time=written.event_time,
        fields=list(imported.fields),
        unmapped=[_unmapped(u) for u in imported.unmapped],
        notes=imported.notes,
    )


def export_contract(ws: Workspace, name: str, output: Path) -> schemas.ContractExport:
    """Write the data contract of ``charters/NAME.yaml`` (as written) to ``output`` as ODCS v3."""
    from charter.spec.interop.odcs import API_VERSION, export_odcs, odcs_yaml

    charter = ws.load_file(name).charter
    doc, unmapped = export_odcs(charter)
    try:
        output.write_text(odcs_yaml(doc), encoding="utf-8")
    except OSError as exc:
        raise CharterError(f"cannot write {output}: {exc.strerror or exc}") from None
    return schemas.ContractExport(
        charter=name,
        file=str(output),
        standard=f"ODCS {API_VERSION}",
        properties=len(doc["schema"][0]["properties"]),
        unmapped=[_unmapped(u) for u in unmapped],
    )


def dry_run_file(ws: Workspace, name: str, file: Path, *, examples: int = 3) -> DryRun:
    """What ``charter ingest`` would do with ``file`` under ``charters/NAME.yaml`` as written;
    nothing is recorded (not even the file's change, which the next real command records)."""
    loaded = ws.load_file(name)
    return dry_run(ws, loaded, file, examples=examples)


def dry_run_schema(report: DryRun) -> schemas.ContractTest:
    return schemas.ContractTest(
        charter=report.charter,
        file=report.file,
        rows_in=report.rows_in,
        rows_valid=report.rows_valid,
        rows_quarantined=report.rows_quarantined,
        rows_late=report.rows_late,
        violations=[
            schemas.RuleExamples(rule=rule, rows=count, examples=report.examples.get(rule, []))
            for rule, count in report.violations.items()
        ],
        batch_rules=report.batch_rules,
        schema_changes=report.schema_changes,
        watermark=report.watermark.isoformat() if report.watermark else None,
        keys_seen=report.keys_seen,
        already_ingested=report.already_ingested,
        notes=report.notes,
    )


def _unmapped(item: Unmapped) -> schemas.Unmapped:
    return schemas.Unmapped(where=item.where, what=item.what)
