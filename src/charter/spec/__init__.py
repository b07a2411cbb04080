"""The charter file: what a user writes, validated with field-path errors."""

from charter.spec.durations import format_duration, parse_duration
from charter.spec.loader import (
    LoadedCharter,
    charter_json_schema,
    charter_json_schema_text,
    load_charter_file,
    parse_charter,
)
from charter.spec.metrics import METRICS, MetricInfo
from charter.spec.model import Charter, DataContract, FieldSpec, MetricRule, Person

__all__ = [
    "METRICS",
    "Charter",
    "DataContract",
    "FieldSpec",
    "LoadedCharter",
    "MetricInfo",
    "MetricRule",
    "Person",
    "charter_json_schema",
    "charter_json_schema_text",
    "format_duration",
    "load_charter_file",
    "parse_charter",
    "parse_duration",
]
