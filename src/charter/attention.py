"""What a run that finished still needs a person for: quarantined rows, failed files, failed versions.

``charter ingest``, ``labels``, ``rescore`` and ``run --once`` exit **5** ("ran, but needs
attention") when any of these facts is true, and list them under ``"attention"`` in ``--json``::

    kind               when                                                  names
    rows_quarantined   a batch quarantined rows (the contract, or model_error) file, rows
    labels_quarantined a label delivery quarantined labels (invalid values)   file, rows
    file_failed        a landing file, label file or source could not be read file
    version_failed     a model version could not score some rows of a batch    file, version, rows

The exit codes, in one place (the CLI's own are in :mod:`charter.cli.main`)::

    0  done, nothing needs attention        3  the store is unreachable
    1  an error: nothing (more) was done    4  a tampered artifact
    2  a usage error                        5  done, but needs attention (the facts above)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: this module stands below what it reads (the scheduler builds on it)
    from charter.plumbing.ingest_report import IngestReport
    from charter.plumbing.labels import LabelReport
    from charter.schemas import data as schemas

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_ATTENTION = 5
KINDS = ("rows_quarantined", "labels_quarantined", "file_failed", "version_failed")


@dataclass(frozen=True)
class Attention:
    """One fact that needs a person; :meth:`to_dict` leaves out what does not apply."""

    kind: str
    charter: str
    message: str
    file: str | None = None
    version: str | None = None
    rows: int | None = None

    def to_schema(self) -> schemas.Attention:
        from charter.schemas import data as schemas  # pydantic: not when `charter --help` starts

        return schemas.Attention(
            kind=self.kind,
            charter=self.charter,
            file=self.file,
            version=self.version,
            rows=self.rows,
            message=self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def from_ingest(report: IngestReport) -> list[Attention]:
    """An ingest (or rescore) report's quarantined rows, failed files and failed versions."""
    name, found = report.charter, []
    for batch in report.batches:
        if batch.rows_quarantined:
            found.append(
                Attention(
                    "rows_quarantined",
                    name,
                    f"{batch.rows_quarantined} row(s) of {batch.source} were quarantined; see "
                    f"`charter quarantine {name}`",
                    file=batch.source,
                    rows=batch.rows_quarantined,
                )
            )
        found += version_failures(name, batch.source, batch.scoring_failures)
    return found + files_failed(name, report.files_failed)


def from_labels(report: LabelReport) -> list[Attention]:
    """A labels report's quarantined labels (invalid values, missing keys) and failed files."""
    name, found = report.charter, []
    for batch in report.batches:
        if batch.quarantined:
            found.append(
                Attention(
                    "labels_quarantined",
                    name,
                    f"{batch.quarantined} label(s) of {batch.source} were quarantined; see "
                    f"`charter quarantine {name} labels`",
                    file=batch.source,
                    rows=batch.quarantined,
                )
            )
    return found + files_failed(name, report.files_failed)


def version_failures(
    charter: str, file: str, failures: Iterable[Mapping[str, Any]]
) -> list[Attention]:
    return [
        Attention(
            "version_failed",
            charter,
            f"{f['status']} version {f['version']} could not score {f['rows']} row(s) of "
            f"{file}: {f['error']}",
            file=file,
            version=str(f["version"]),
            rows=int(f["rows"]),
        )
        for f in failures
    ]


def files_failed(charter: str, failures: Iterable[Mapping[str, str]]) -> list[Attention]:
    return [
        Attention(
            "file_failed",
            charter,
            f"{f.get('file')} could not be read: {f.get('error')}",
            file=f.get("file"),
        )
        for f in failures
    ]


def to_json(facts: Sequence[Attention]) -> list[dict[str, Any]]:
    return [fact.to_dict() for fact in facts]


def exit_code(facts: Sequence[Attention]) -> int:
    """0 when nothing needs attention, else 5."""
    return EXIT_ATTENTION if facts else EXIT_OK


def human_lines(facts: Sequence[Attention]) -> list[str]:
    return [f"needs attention: {fact.charter}: {fact.message}" for fact in facts]
