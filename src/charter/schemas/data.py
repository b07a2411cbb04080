"""Data results: ``charter ingest`` and ``rescore``, quarantined rows and their replay, labels."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from charter.schemas.base import Facts, Number, Result


class Attention(Result):
    """A fact that needs a person (quarantined rows, a failed file or model version): exit 5."""

    kind: str
    charter: str
    file: str | None = Field(default=None, exclude_if=lambda v: v is None)
    version: str | None = Field(default=None, exclude_if=lambda v: v is None)
    rows: int | None = Field(default=None, exclude_if=lambda v: v is None)
    message: str


class Batch(Result):
    """One ingested batch: a landing ``file``, or (SQL and replayed rows) a ``cursor_range``.

    ``rows_in = rows_scored + rows_quarantined`` (``balanced``); ``cursor_from`` and ``cursor_to``
    only for SQL sources.
    """

    batch_id: str
    kind: str
    file: str | None = None
    cursor_range: str | None = None
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    rows_late: int
    balanced: bool
    scored_by: list[dict[str, str]]
    violations: dict[str, int]
    batch_rules: list[Facts]
    schema_changes: list[dict[str, str]]
    predictions: list[str]
    quarantine: list[str]
    scoring_failures: list[Facts]
    cursor_from: str | None = None
    cursor_to: str | None = None
    source: str | None = Field(
        default=None, description="The batch's file or cursor range (replay only)."
    )

    @model_serializer(mode="wrap")
    def _keys_of_its_kind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        body: dict[str, Any] = handler(self)
        drop = ["cursor_range" if self.kind == "file" else "file"]
        drop += [] if self.kind == "sql" else ["cursor_from", "cursor_to"]
        drop += [] if self.source is not None else ["source"]
        for key in drop:
            body.pop(key, None)
        return body


class IngestResult(Result):
    """``charter ingest NAME --json`` and ``charter rescore NAME --json``."""

    charter: str
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    rows_late: int
    balanced: bool
    scored_by: list[dict[str, str]]
    note: str | None
    batches: list[Batch]
    files_failed: list[dict[str, str]]
    files_skipped: list[dict[str, str]]
    files_waiting: list[dict[str, str]]
    warnings: list[dict[str, str]]
    null_cursor_rows: int | None
    rows_reread: int
    attention: list[Attention] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="`--json` of the CLI only."
    )


class QuarantineSummary(Result):
    """``charter quarantine NAME list --json``: outstanding rows by rule and by batch."""

    charter: str
    rows: int
    by_rule: dict[str, int]
    batches: list[Facts]


class QuarantinedRows(Result):
    """``charter quarantine NAME show --json``: the rows, with every rule each broke."""

    charter: str
    rows: list[Facts]


class Replay(Result):
    """``charter quarantine NAME replay --json``: the rows re-validated as a new batch."""

    charter: str
    rows_replayed: int
    rows_scored: int
    rows_quarantined: int
    rows_late: int
    rows_unchanged: int
    replayed_from: list[str]
    batch: Batch | None
    note: str | None


class LabelsResult(Result):
    """``charter labels NAME [FILE] --json``: the labels recorded, by what happened to them."""

    charter: str
    rows_in: int
    labels_new: int
    labels_changed: int
    duplicates: int
    unknown_keys: int
    invalid: int
    quarantined: int
    invalid_by_reason: dict[str, int]
    deliveries_refused: int
    coverage: Number | None
    batches: list[Facts]
    files_failed: list[dict[str, str]]
    attention: list[Attention] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="`--json` of the CLI only."
    )


class LabelHistory(Result):
    """``charter label-history NAME KEY --json``: every label of a key; the last is current."""

    charter: str
    key: str
    current: Number | None
    corrections: int
    entries: list[Facts]


class LabelQuarantine(Result):
    """``charter quarantine NAME labels --json``: the invalid labels, by reason and delivery."""

    charter: str
    rows: int
    by_reason: dict[str, int]
    batches: list[Facts]
    examples: list[Facts]


class LakeMigration(Result):
    """``charter lake migrate --to URL --json``: the committed log files copied into a lake."""

    source: str = Field(description="The lake the files were copied from (secrets masked).")
    target: str = Field(description="The lake they were copied to (secrets masked).")
    files: int = Field(description="Files that committed batches name.")
    copied: int = Field(description="Files this run copied.")
    already_there: int = Field(description="Files the target already held (an earlier run).")
    bytes_copied: int
    deleted_from_source: int = Field(description="Source files deleted (--delete-source).")
    missing: list[str] = Field(description="Committed files found in neither lake.")


class LakeClean(Result):
    """``charter lake clean NAME --json``: uncommitted files removed from a charter's folders."""

    charter: str
    lake: str = Field(description="The lake (secrets masked).")
    removed: list[str] = Field(description="Keys of the files removed: no batch committed them.")
    kept_young: int = Field(description="Uncommitted files left alone: younger than the grace.")
