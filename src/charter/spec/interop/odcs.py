"""ODCS v3 (the Open Data Contract Standard) to and from a charter's data contract.

Documents are validated with the standard's own pydantic model (the ``open-data-contract-standard``
package), plus what its JSON Schema adds and the model lets pass: no unknown keys anywhere
(``unevaluatedProperties: false``), ``apiVersion`` v3, ``kind: DataContract``.

What maps (both ways)::

    ODCS                                              charter data contract
    schema[].properties[].name                        data.fields.NAME
    logicalType string/integer/number/boolean/
                timestamp/date                        type string/int/float/bool/datetime/date
    required: true                                    nullable: false
    unique: true                                      unique: true
    primaryKey: true (one property)                   key
    logicalTypeOptions minimum/maximum                min/max (dates and timestamps: epoch seconds)
    logicalTypeOptions pattern                        pattern
    logicalTypeOptions minLength/maxLength            pattern (?s:.){min,max} (no pattern given)
    enum, or quality invalidValues validValues, mustBe 0   allowed
    quality invalidValues pattern, mustBe 0           pattern
    quality nullValues mustBe 0                       nullable: false
    quality nullValues unit percent, mustBeLessOrEqualTo p   max_null_fraction p/100
    quality duplicateValues mustBe 0                  unique: true
    schema quality rowCount (per delivered batch)     volume.min_rows / max_rows
    slaProperties latency (value, unit, element)      freshness.max_lateness, event_time
    slaProperties freshness                           freshness.max_age

Everything else is returned as :class:`~.common.Unmapped`: logical types charter has no type for
(object, array, map, time, vector), exclusive bounds on numbers, formats, text/SQL/custom quality
rules, tolerances other than zero, composite keys, servers, team, roles, pricing.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from charter.errors import CharterFileError
from charter.spec.durations import format_duration
from charter.spec.interop.common import (
    ImportedContract,
    Unmapped,
    charter_type,
    length_pattern,
    pattern_length,
)
from charter.spec.model import Charter, FieldSpec
from charter.spec.yaml_reader import YamlProblem, format_path, read_yaml

API_VERSION = "v3.1.0"
"""The version exports declare: every ODCS v3.1+ reader takes it."""

LOGICAL_TYPES = {
    "string": "string",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "timestamp": "datetime",
    "date": "date",
}
_TO_LOGICAL = {charter: odcs for odcs, charter in LOGICAL_TYPES.items()}
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "y": 365 * 86400,
    "yr": 365 * 86400,
    "year": 365 * 86400,
    "years": 365 * 86400,
}
UNTYPED = "charterUntyped"
"""The custom property marking a column charter names (key, event time) but gives no type: ODCS
tools want a logicalType on every property, so the export writes one and this mark."""
_IDENTITY = {"apiVersion", "kind", "id", "version", "name", "status", "contractCreatedTs"}
_MAPPED_PROPERTY_KEYS = {
    "name",
    "logicalType",
    "physicalType",
    "required",
    "unique",
    "primaryKey",
    "primaryKeyPosition",
    "description",
    "logicalTypeOptions",
    "enum",
    "quality",
    "id",
}


# -- reading ------------------------------------------------------------------------------------
def parse_odcs(text: str, *, source: str, object_name: str | None = None) -> ImportedContract:
    """The data contract of an ODCS v3 document; :class:`CharterFileError` if it is not one."""
    data = _validated(text, source)
    version = str(data.get("apiVersion"))
    imported = ImportedContract(source=source, standard=f"ODCS {version}")
    objects = data.get("schema") or []
    index = _choose_object(objects, object_name, source)
    obj = objects[index]
    where = f"schema[{index}]"
    for i, other in enumerate(objects):
        if i != index:
            imported.skip(f"schema[{i}]", f"object {other.get('name')!r}: only one is imported")
    keys: list[tuple[int, str]] = []
    for p, prop in enumerate(obj.get("properties") or []):
        _read_property(imported, prop, f"{where}.properties[{p}]", keys)
    _read_primary_key(imported, keys, where)
    for q, rule in enumerate(obj.get("quality") or []):
        _read_object_quality(imported, rule, f"{where}.quality[{q}]")
    extra = sorted(k for k in obj if k not in {"name", "properties", "quality", "id"})
    if extra:
        imported.skip(where, f"{', '.join(extra)}: descriptive metadata charter does not keep")
    _read_sla(imported, data, obj)
    rest = sorted(k for k in data if k not in _IDENTITY | {"schema", "slaProperties"})
    rest = [k for k in rest if k != "slaDefaultElement"]
    if rest:
        imported.skip("(document)", f"{', '.join(rest)}: not part of a charter's data contract")
    return imported


def _validated(text: str, source: str) -> dict[str, Any]:
    from open_data_contract_standard.model import OpenDataContractStandard

    try:
        data = read_yaml(text)
    except YamlProblem as exc:
        raise CharterFileError(source, [exc.problem]) from None
    except yaml.YAMLError as exc:
        raise CharterFileError(source, [f"malformed YAML: {str(exc).splitlines()[0]}"]) from None
    if not isinstance(data, dict):
        raise CharterFileError(source, ["an ODCS document is a YAML mapping"])
    problems: list[str] = []
    if str(data.get("kind", "")) != "DataContract":
        problems.append(f"kind: {data.get('kind')!r}; an ODCS data contract says DataContract")
    api = str(data.get("apiVersion", ""))
    if not api.startswith("v3."):
        problems.append(f"apiVersion: {api or 'missing'}; charter reads ODCS v3 (v3.0.0 to v3.x)")
    try:
        OpenDataContractStandard.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = format_path([part for part in error["loc"] if part != "schema_"])
            problems.append(f"{path}: {error['msg']}")
    problems += _unknown_keys(data, OpenDataContractStandard, [])
    if problems:
        raise CharterFileError(source, problems)
    return data


def _unknown_keys(value: Any, model: type[BaseModel], path: list[Any]) -> list[str]:
    """Keys the standard does not define, anywhere (its model ignores them; its JSON Schema
    refuses them)."""
    if not isinstance(value, dict):
        return []
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    problems = []
    for key, item in value.items():
        info = fields.get(key)
        if info is None:
            problems.append(f"{format_path([*path, key])}: unknown field (not in ODCS v3)")
            continue
        as_item, as_value = _models_in(info.annotation)
        if isinstance(item, list) and as_item is not None:
            for i, element in enumerate(item):
                problems += _unknown_keys(element, as_item, [*path, key, i])
        elif isinstance(item, dict) and as_value is not None:
            problems += _unknown_keys(item, as_value, [*path, key])
    return problems


def _models_in(annotation: Any) -> tuple[type[BaseModel] | None, type[BaseModel] | None]:
    """The model of the items when the value is a list, and the model when it is a mapping."""
    import typing

    item: type[BaseModel] | None = None
    value: type[BaseModel] | None = None
    for arg in (*typing.get_args(annotation), annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            value = value or arg
        elif typing.get_origin(arg) is list:
            inner = typing.get_args(arg)[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                item = item or inner
    return item, value


def _choose_object(objects: list[dict[str, Any]], name: str | None, source: str) -> int:
    names = [str(o.get("name")) for o in objects]
    if name is not None:
        if name not in names:
            raise CharterFileError(
                source, [f"schema: no object named {name!r}; the objects are {', '.join(names)}"]
            )
        return names.index(name)
    if not objects:
        raise CharterFileError(source, ["schema: the contract describes no object (no schema)"])
    if len(objects) > 1:
        raise CharterFileError(
            source,
            [f"schema: {len(objects)} objects ({', '.join(names)}); choose one with --object NAME"],
        )
    return 0


def _read_property(
    imported: ImportedContract, prop: dict[str, Any], where: str, keys: list[tuple[int, str]]
) -> None:
    name = str(prop["name"])
    if prop.get("primaryKey"):
        keys.append((int(prop.get("primaryKeyPosition") or 0), name))
    if any(
        c.get("property") == UNTYPED and c.get("value") for c in prop.get("customProperties") or []
    ):
        return  # charter's own export of a key or event time the contract leaves untyped
    kind = _property_type(imported, prop, where)
    if kind is None:
        return
    spec = imported.field_of(name)
    spec["type"] = kind
    if prop.get("required"):
        spec["nullable"] = False
    if prop.get("unique"):
        spec["unique"] = True
    _read_options(imported, spec, prop, where)
    values = [e.get("value") for e in prop.get("enum") or []]
    if values:
        spec["allowed"] = values
        said = sorted({k for e in prop["enum"] for k in e if k != "value"})
        if said:
            imported.skip(f"{where}.enum", f"{name}: {', '.join(said)} of the values: not kept")
    for q, rule in enumerate(prop.get("quality") or []):
        _read_property_quality(imported, spec, rule, f"{where}.quality[{q}]")
    if prop.get("description") is not None:
        spec["description"] = str(prop["description"])
    extra = sorted(k for k in prop if k not in _MAPPED_PROPERTY_KEYS)
    if extra:
        imported.skip(where, f"{name}: {', '.join(extra)}: metadata charter does not keep")


def _property_type(imported: ImportedContract, prop: dict[str, Any], where: str) -> str | None:
    name, logical = prop["name"], prop.get("logicalType")
    if logical is not None:
        kind = LOGICAL_TYPES.get(str(logical))
        if kind is None:
            imported.skip(where, f"{name}: logicalType {logical} has no charter type; not imported")
        return kind
    physical = prop.get("physicalType")
    kind = charter_type(str(physical)) if physical else None
    if kind is not None:
        imported.notes.append(f"{name}: type {kind} read from physicalType {physical}")
        return kind
    if not prop.get("primaryKey"):
        imported.skip(where, f"{name}: no logicalType or known physicalType; not imported")
    return None


def _read_options(
    imported: ImportedContract, spec: dict[str, Any], prop: dict[str, Any], where: str
) -> None:
    options = dict(prop.get("logicalTypeOptions") or {})
    kind, name = spec["type"], prop["name"]
    for bound, key in (("minimum", "min"), ("maximum", "max")):
        if bound in options:
            value = _bound_value(kind, options.pop(bound))
            if value is None:
                imported.skip(f"{where}.logicalTypeOptions.{bound}", f"{name}: not a {kind} value")
            else:
                spec[key] = value
    if kind == "int":
        for bound, key, step in (("exclusiveMinimum", "min", 1), ("exclusiveMaximum", "max", -1)):
            value = options.get(bound)
            if isinstance(value, int | float) and float(value).is_integer():
                spec[key] = int(value) + step
                del options[bound]
    if "pattern" in options:
        spec["pattern"] = str(options.pop("pattern"))
    low, high = options.pop("minLength", None), options.pop("maxLength", None)
    if low is not None or high is not None:
        if "pattern" in spec:
            imported.skip(
                f"{where}.logicalTypeOptions",
                f"{name}: minLength/maxLength beside a pattern (charter has one pattern per field)",
            )
        else:
            spec["pattern"] = length_pattern(low, high)
    for key, value in options.items():
        imported.skip(f"{where}.logicalTypeOptions.{key}", f"{name}: {key} {value!r} has no rule")


def _bound_value(kind: str, value: Any) -> float | int | None:
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value) if kind == "int" and float(value).is_integer() else value
    if kind in ("datetime", "date"):
        return _epoch(value)
    return None


def _epoch(value: Any) -> float | int | None:
    """Epoch seconds of an ISO date or timestamp (charter's bounds on times); naive means UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def _threshold(rule: dict[str, Any]) -> tuple[str, Any] | None:
    ops = [k for k in rule if k.startswith("must")]
    if len(ops) != 1:
        return None
    return ops[0], rule[ops[0]]


def _read_property_quality(
    imported: ImportedContract, spec: dict[str, Any], rule: dict[str, Any], where: str
) -> None:
    metric = rule.get("metric") or rule.get("rule")
    kind = rule.get("type", "library")
    op = _threshold(rule)
    unit = str(rule.get("unit") or "rows")
    arguments = rule.get("arguments") or {}
    zero = op is not None and (
        (op[0] == "mustBe" and op[1] == 0) or (op[0] == "mustBeLessOrEqualTo" and op[1] == 0)
    )
    if kind == "library" and metric == "nullValues":
        share = op is not None and op[0] in ("mustBeLessOrEqualTo", "mustBeLessThan")
        if zero and not (share and unit == "percent"):
            spec["nullable"] = False  # a row rule; "at most 0%" below is the batch rule
            return
        if op is not None and share and unit == "percent":
            spec["max_null_fraction"] = round(float(op[1]) / 100, 12)
            if op[0] == "mustBeLessThan":
                imported.notes.append(f"{where}: nullValues < {op[1]}% read as at most {op[1]}%")
            return
    elif kind == "library" and metric == "duplicateValues" and zero:
        spec["unique"] = True
        return
    elif kind == "library" and metric == "invalidValues" and zero:
        if "validValues" in arguments and set(arguments) <= {"validValues"}:
            spec["allowed"] = list(arguments["validValues"])
            return
        if "pattern" in arguments and set(arguments) <= {"pattern"}:
            spec["pattern"] = str(arguments["pattern"])
            return
    imported.skip(where, _describe_rule(rule))


def _describe_rule(rule: dict[str, Any]) -> str:
    kind = rule.get("type", "library")
    if kind == "library":
        op = _threshold(rule)
        said = f"{rule.get('metric') or rule.get('rule')}"
        if op is not None:
            said += f" {op[0]} {op[1]}"
        if rule.get("unit"):
            said += f" {rule['unit']}"
        if rule.get("arguments"):
            said += f" {rule['arguments']}"
        return f"quality rule {said}: charter has no such rule (each row passes or is quarantined)"
    what = rule.get("description") or rule.get("query") or rule.get("engine") or ""
    return f"{kind} quality rule {str(what).strip()[:80]!r}: charter does not run {kind} rules"


def _read_object_quality(imported: ImportedContract, rule: dict[str, Any], where: str) -> None:
    metric = rule.get("metric") or rule.get("rule")
    op = _threshold(rule)
    if rule.get("type", "library") == "library" and metric == "rowCount" and op is not None:
        name, value = op
        limits: dict[str, int] = {}
        if name == "mustBeBetween":
            limits = {"min_rows": math.ceil(value[0]), "max_rows": math.floor(value[1])}
        elif name == "mustBeGreaterOrEqualTo":
            limits = {"min_rows": math.ceil(value)}
        elif name == "mustBeGreaterThan":
            limits = {"min_rows": math.floor(value) + 1}
        elif name == "mustBeLessOrEqualTo":
            limits = {"max_rows": math.floor(value)}
        elif name == "mustBeLessThan":
            limits = {"max_rows": math.ceil(value) - 1}
        if limits:
            imported.volume.update(limits)
            imported.notes.append(f"{where}: rowCount judged per delivered batch (volume)")
            return
    imported.skip(where, _describe_rule(rule))


def _read_primary_key(imported: ImportedContract, keys: list[tuple[int, str]], where: str) -> None:
    if len(keys) == 1:
        imported.key = keys[0][1]
    elif len(keys) > 1:
        names = ", ".join(name for _, name in sorted(keys))
        imported.skip(where, f"composite primary key ({names}): charter's key is one column")


def _read_sla(imported: ImportedContract, data: dict[str, Any], obj: dict[str, Any]) -> None:
    default = data.get("slaDefaultElement")
    for i, sla in enumerate(data.get("slaProperties") or []):
        where = f"slaProperties[{i}]"
        prop = str(sla.get("property", "")).lower()
        if prop in ("latency", "ly", "freshness"):
            duration = _duration(sla.get("value"), sla.get("unit"))
            if duration is None:
                imported.skip(where, f"{prop} {sla.get('value')} {sla.get('unit')}: not a duration")
                continue
            imported.freshness["max_lateness" if prop != "freshness" else "max_age"] = duration
            _event_time(imported, sla.get("element") or default, obj, where)
            continue
        imported.skip(where, f"SLA {sla.get('property')}: charter has no such rule")
    if default:
        _event_time(imported, default, obj, "slaDefaultElement")


def _event_time(imported: ImportedContract, element: Any, obj: dict[str, Any], where: str) -> None:
    """The column an SLA is measured on is the event time, when it is a time of this object."""
    if imported.event_time is not None or not element:
        return
    first = str(element).split(",")[0].strip()
    table, dot, column = first.rpartition(".")
    if dot and table not in (obj.get("name"), obj.get("physicalName")):
        imported.notes.append(f"{where}: element {first} is not of object {obj.get('name')}")
        return
    names = {}
    for prop in obj.get("properties") or []:
        names[str(prop["name"])] = str(prop["name"])
        if prop.get("physicalName"):
            names.setdefault(str(prop["physicalName"]), str(prop["name"]))
    name = names.get(column)
    if name is None:
        imported.notes.append(f"{where}: element {first} names no property")
        return
    kind = imported.fields.get(name, {}).get("type")
    if kind not in (None, "datetime", "date"):
        imported.notes.append(f"{where}: element {name} is {kind}, not a time: not the event time")
        return
    imported.event_time = name


def _duration(value: Any, unit: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    size = _UNITS.get(str(unit or "d").strip().lower())
    if size is None:
        return None
    return format_duration(timedelta(seconds=float(value) * size))


# -- writing ------------------------------------------------------------------------------------
def export_odcs(charter: Charter) -> tuple[dict[str, Any], list[Unmapped]]:
    """The charter's data contract as an ODCS v3 document (validated by the standard's model),
    and the parts of the contract ODCS has no place for."""
    from open_data_contract_standard.model import OpenDataContractStandard

    contract, name = charter.data, charter.name
    unmapped: list[Unmapped] = []
    properties = []
    for column, spec in _columns(charter).items():
        properties.append(_property(column, spec, charter, unmapped))
    obj: dict[str, Any] = {"name": name, "physicalType": "table", "properties": properties}
    rows = _row_count(charter)
    if rows is not None:
        obj["quality"] = [rows]
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": name,
        "name": name,
        "version": "1.0.0",
        "status": "active",
        "description": {"purpose": charter.decision},
        "schema": [obj],
    }
    sla = _sla(charter)
    if sla:
        doc["slaProperties"] = sla
    unmapped.append(
        Unmapped("data.source", f"{contract.source.kind} source: where charter reads, not ODCS")
    )
    if contract.features is not None:
        unmapped.append(Unmapped("data.features", "the model's inputs: not part of ODCS"))
    if contract.prediction is not None:
        unmapped.append(
            Unmapped("data.prediction", f"{contract.prediction.column}: the model's output column")
        )
    OpenDataContractStandard.model_validate(doc)
    return doc, unmapped


def odcs_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _columns(charter: Charter) -> dict[str, FieldSpec | None]:
    """The fields, then the key and event time when the contract leaves them untyped."""
    columns: dict[str, FieldSpec | None] = dict(charter.data.fields)
    for column in (charter.data.key, charter.data.event_time):
        if column is not None and column not in columns:
            columns[column] = None
    return columns


def _property(
    column: str, spec: FieldSpec | None, charter: Charter, unmapped: list[Unmapped]
) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": column}
    key = column == charter.data.key
    if spec is None:
        logical = "timestamp" if column == charter.data.event_time else "string"
        prop["logicalType"] = logical
        if key:
            prop.update(primaryKey=True, primaryKeyPosition=1)
        prop["customProperties"] = [{"property": UNTYPED, "value": True}]
        unmapped.append(
            Unmapped(
                f"data.{'key' if key else 'event_time'}",
                f"{column} has no field contract; exported as {logical}, marked {UNTYPED}",
            )
        )
        return prop
    prop["logicalType"] = _TO_LOGICAL[spec.type]
    if key:
        prop.update(primaryKey=True, primaryKeyPosition=1)
    if not spec.nullable:
        prop["required"] = True
    if spec.unique:
        prop["unique"] = True
    if spec.description is not None:
        prop["description"] = spec.description
    options: dict[str, Any] = {}
    for bound, value in (("minimum", spec.min), ("maximum", spec.max)):
        if value is not None:
            options[bound] = _export_bound(spec.type, value)
    if spec.pattern is not None:
        lengths = pattern_length(spec.pattern)
        if lengths is None:
            options["pattern"] = spec.pattern
        else:
            if lengths[0] is not None:
                options["minLength"] = lengths[0]
            if lengths[1] is not None:
                options["maxLength"] = lengths[1]
    if options:
        prop["logicalTypeOptions"] = options
    quality: list[dict[str, Any]] = []
    if spec.allowed is not None:
        quality.append(
            {
                "metric": "invalidValues",
                "arguments": {"validValues": list(spec.allowed)},
                "mustBe": 0,
                "unit": "rows",
            }
        )
    if spec.max_null_fraction is not None:
        quality.append(
            {
                "metric": "nullValues",
                "mustBeLessOrEqualTo": round(spec.max_null_fraction * 100, 10),
                "unit": "percent",
            }
        )
    if quality:
        prop["quality"] = quality
    if not spec.required:
        unmapped.append(
            Unmapped(
                f"data.fields.{column}.required",
                "false (the column may be absent): ODCS required means not null",
            )
        )
    return prop


def _export_bound(kind: str, value: float) -> Any:
    if kind == "int":
        return int(value) if float(value).is_integer() else value
    if kind == "float":
        return value
    moment = datetime.fromtimestamp(value, UTC)
    if kind == "date" and moment.time() == time():
        return moment.date().isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _row_count(charter: Charter) -> dict[str, Any] | None:
    low, high = charter.data.volume.min_rows, charter.data.volume.max_rows
    rule: dict[str, Any] = {"metric": "rowCount", "description": "rows per delivered batch"}
    if low is not None and high is not None:
        rule["mustBeBetween"] = [low, high]
    elif low is not None:
        rule["mustBeGreaterOrEqualTo"] = low
    elif high is not None:
        rule["mustBeLessOrEqualTo"] = high
    else:
        return None
    return rule


def _sla(charter: Charter) -> list[dict[str, Any]]:
    freshness, event_time = charter.data.freshness, charter.data.event_time
    element = f"{charter.name}.{event_time}" if event_time else None
    out = []
    for prop, duration in (("latency", freshness.max_lateness), ("freshness", freshness.max_age)):
        if duration is None:
            continue
        value, unit = _value_unit(duration)
        sla: dict[str, Any] = {"property": prop, "value": value, "unit": unit}
        if element:
            sla["element"] = element
        out.append(sla)
    return out


def _value_unit(duration: timedelta) -> tuple[int | float, str]:
    seconds = duration.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return int(seconds // size), unit
    return (int(seconds) if seconds.is_integer() else seconds), "s"
