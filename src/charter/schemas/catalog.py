"""Every result by name, and the commands whose ``--json`` prints it.

``charter schema --results [NAME]`` and docs/results.md read this table; the CLI tests check each
command's output against the JSON Schema named here. The models are imported when asked for, so
naming them costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from charter.schemas.base import Result

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Printed:
    """A command prints one ``result`` (or, ``many``, a JSON array of them)."""

    command: str
    result: str
    many: bool = False


# result name -> the module of charter.schemas that defines it
RESULTS: dict[str, str] = {
    "CheckResult": "charters",
    "Initialised": "charters",
    "MonitorResult": "monitoring",
    "StatusResult": "monitoring",
    "ReportResult": "monitoring",
    "ReferenceResult": "monitoring",
    "ContractImport": "contracts",
    "ContractExport": "contracts",
    "ContractTest": "contracts",
    "IngestResult": "data",
    "QuarantineSummary": "data",
    "QuarantinedRows": "data",
    "Replay": "data",
    "LabelsResult": "data",
    "LabelHistory": "data",
    "LabelQuarantine": "data",
    "LakeMigration": "data",
    "LakeClean": "data",
    "AlertList": "alerts",
    "Alert": "alerts",
    "AlertTest": "alerts",
    "Version": "versions",
    "Readiness": "lifecycle",
    "Promotion": "lifecycle",
    "Decision": "lifecycle",
    "Rollback": "lifecycle",
    "ApprovalMode": "lifecycle",
    "ChangesResult": "governance",
    "Change": "governance",
    "AuditVerify": "audit",
    "AuditExport": "audit",
    "AuditKeys": "audit",
    "KeyRotation": "audit",
    "PublicKey": "audit",
    "PassResult": "operations",
    "RetrainResult": "operations",
    "ReviewResult": "operations",
    "DeliveryPass": "operations",
    "DemoResult": "demo",
    "ErrorResult": "errors",
    "EvidencePack": "evidence",
    "EvidenceVerify": "evidence",
    "PurgeResult": "evidence",
    "Token": "tokens",
    "Suspension": "oversight",
    "Trace": "trace",
    "CreatedToken": "tokens",
}

PRINTED: tuple[Printed, ...] = (
    Printed("init", "Initialised"),
    Printed("check", "CheckResult"),
    Printed("monitor", "MonitorResult"),
    Printed("status", "StatusResult"),
    Printed("report", "ReportResult"),
    Printed("reference", "ReferenceResult"),
    Printed("contract import", "ContractImport"),
    Printed("contract export", "ContractExport"),
    Printed("contract test", "ContractTest"),
    Printed("ingest", "IngestResult"),
    Printed("rescore", "IngestResult"),
    Printed("quarantine list", "QuarantineSummary"),
    Printed("quarantine show", "QuarantinedRows"),
    Printed("quarantine replay", "Replay"),
    Printed("quarantine labels", "LabelQuarantine"),
    Printed("labels", "LabelsResult"),
    Printed("label-history", "LabelHistory"),
    Printed("lake migrate", "LakeMigration"),
    Printed("lake clean", "LakeClean"),
    Printed("alerts list", "AlertList"),
    Printed("alerts ack", "Alert"),
    Printed("alerts resolve", "Alert"),
    Printed("alerts test", "AlertTest"),
    Printed("register", "Version"),
    Printed("versions", "Version", many=True),
    Printed("shadow", "Version"),
    Printed("retire", "Version"),
    Printed("readiness", "Readiness"),
    Printed("promote", "Promotion"),
    Printed("approve", "Decision"),
    Printed("reject", "Decision"),
    Printed("decisions", "Decision", many=True),
    Printed("rollback", "Rollback"),
    Printed("authorize", "ApprovalMode"),
    Printed("changes", "ChangesResult"),
    Printed("accept-change", "Change"),
    Printed("reject-change", "Change"),
    Printed("audit verify", "AuditVerify"),
    Printed("audit export", "AuditExport"),
    Printed("audit keys list", "AuditKeys"),
    Printed("audit keys rotate", "KeyRotation"),
    Printed("audit keys export", "PublicKey"),
    Printed("run", "PassResult"),
    Printed("retrain", "RetrainResult"),
    Printed("review", "ReviewResult"),
    Printed("alerts deliver", "DeliveryPass"),
    Printed("demo", "DemoResult"),
    Printed("evidence pack", "EvidencePack"),
    Printed("evidence verify", "EvidenceVerify"),
    Printed("purge", "PurgeResult"),
    Printed("tokens create", "CreatedToken"),
    Printed("tokens list", "Token", many=True),
    Printed("tokens revoke", "Token"),
    Printed("suspend", "Suspension"),
    Printed("resume", "Suspension"),
    Printed("trace", "Trace"),
)


def result_model(name: str) -> type[Result]:
    """The model of result ``name`` (a key of :data:`RESULTS`)."""
    module = importlib.import_module(f"charter.schemas.{RESULTS[name]}")
    model = getattr(module, name)
    assert isinstance(model, type) and issubclass(model, Result)
    return model


def commands_printing(name: str) -> list[Printed]:
    return [p for p in PRINTED if p.result == name]


def result_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of what ``--json`` prints for result ``name``."""
    schema = result_model(name).model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def command_schema(command: str) -> dict[str, Any]:
    """The JSON Schema of what ``charter COMMAND --json`` prints (an array for listings)."""
    printed = next(p for p in PRINTED if p.command == command)
    schema = result_schema(printed.result)
    if not printed.many:
        return schema
    defs = schema.pop("$defs", {})
    schema.pop("$schema")
    return {"$schema": JSON_SCHEMA_DIALECT, "type": "array", "items": schema, "$defs": defs}


def all_result_schemas() -> dict[str, dict[str, Any]]:
    return {name: result_schema(name) for name in RESULTS}
