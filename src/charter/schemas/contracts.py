"""Data contract results: ``charter contract import``, ``export`` and ``test`` (the dry run)."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Result


class Unmapped(Result):
    """A part of the other standard's document that charter could not map (never dropped
    silently): ``where`` in that document, ``what`` it says and why it does not map."""

    where: str
    what: str


class ContractImport(Result):
    """``charter contract import SOURCE NAME --json``: the data contract written."""

    charter: str
    file: str
    created: bool = Field(description="True: a new charter file from the scaffold.")
    source: str
    standard: str = Field(description="e.g. ODCS v3.1.0, Great Expectations, Pandera.")
    key: str
    event_time: str | None
    fields: list[str] = Field(description="The field contracts written, in order.")
    unmapped: list[Unmapped]
    notes: list[str] = Field(description="How parts were read that map only approximately.")


class ContractExport(Result):
    """``charter contract export NAME -o FILE --json``: the ODCS document written."""

    charter: str
    file: str
    standard: str
    properties: int
    unmapped: list[Unmapped]


class RuleExamples(Result):
    """Rows that broke one rule: how many, and the first few as they arrived."""

    rule: str
    rows: int
    examples: list[Facts]


class ContractTest(Result):
    """``charter contract test NAME FILE --json``: what ingest would do with FILE (a dry run).

    ``rows_in == rows_valid + rows_quarantined``; ``rows_late`` counts valid rows older than the
    committed watermark minus the allowed lateness. Nothing is written.
    """

    charter: str
    file: str
    rows_in: int
    rows_valid: int
    rows_quarantined: int
    rows_late: int
    violations: list[RuleExamples]
    batch_rules: list[Facts]
    schema_changes: list[dict[str, str]]
    watermark: str | None = Field(description="The committed watermark lateness is judged by.")
    keys_seen: int = Field(description="Keys already logged, for uniqueness across batches.")
    already_ingested: str | None = Field(
        description="The committed batch with these very bytes (ingest would skip the file)."
    )
    notes: list[str]
