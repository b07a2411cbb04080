"""The commented charter that ``charter init NAME`` writes: valid as written, and a lesson by example."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from charter.errors import CharterError
from charter.spec.inferred import InferredContract, InferredModel
from charter.spec.loader import parse_charter
from charter.spec.model import NAME_PATTERN

TEMPLATE = """\
# The charter of the {name} model.
# A charter names who owns the model's decisions, what accuracy is sufficient, what the live data
# must look like, and how the model is operated. `charter check {name}` validates this file;
# `charter schema` prints the JSON Schema for editor completion.

name: {name}                       # must match the file name
decision: "Describe the business decision this model informs"
{task}
# The business owner is accountable for the model's decisions and is the only identity
# (besides the delegates below) that can approve a version for production.
owner: {{name: "{owner_name}", email: {owner_email}, role: "Business owner"}}
delegates: []                      # e.g. [{{name: "Deputy", email: deputy@example.com}}]
stewards:                          # who operates the model day to day
  - {{name: "ML Platform team", email: ml-platform@example.com}}

# Agreed with the owner BEFORE training, and judged on LIVE data, window by window.
sufficiency:
  window: 7d                       # event-time window each verdict covers
  min_labels: 200                  # fewer labels than this: "insufficient evidence"
  label_delay: 30d                 # how late ground truth usually arrives
  # The operating point: the score at which the model's answer is "positive" (refer, block,
  # call back). It decides accuracy, precision, recall and f1 and their estimates. Default 0.5.
  # A fraud model sees 5% fraud: at 0.5 it may flag almost nothing, so either set the score
  #   threshold: 0.35
  # or state the review capacity, "the analysts check the 5% highest scores of each window":
  #   refer_top: 5%
  metrics:
{metrics}    # - {{metric: recall, at_least: 0.55, segment: "region == 'north'"}}

# The contract of the live input pipeline. Rows that break it are quarantined, never dropped.
{data}
{labels}
operations:
  # drift 'auto': per input type, flags shifts both real and large enough to matter
  # (docs/monitoring-statistics.md); or name one, e.g. {{method: psi, warn: 0.1, breach: 0.25}}
  monitor: {{every: 1h, reference: training, drift: {{method: auto}}}}
  alerts:
    - {{route: log, on: [breach, drift_breach, stalled_decision]}}
  rollback: {{automatic: true, after_breaches: 2}}
  promotion: {{shadow_min_batches: 20, approval: owner}}   # or: auto_if_sufficient
  decision_deadline: 5d            # an undecided promotion escalates instead of stalling
"""


def render(
    name: str, *, owner_name: str = "Owner Name", owner_email: str = "owner@example.com"
) -> str:
    data, labels = _DEFAULT_DATA.format(name=name), _DEFAULT_LABELS.format(name=name)
    return _with_defaults(name, owner_name, owner_email, data=data, labels=labels)


def _with_defaults(name: str, owner_name: str, owner_email: str, *, data: str, labels: str) -> str:
    """The template with the default task and sufficiency metrics."""
    metrics = _DEFAULT_METRICS.format()
    parts = {"task": _DEFAULT_TASK, "metrics": metrics, "data": data, "labels": labels}
    return _fill(name, owner_name, owner_email, **parts)


def _fill(name: str, owner_name: str, owner_email: str, **parts: str) -> str:
    return TEMPLATE.format(name=name, owner_name=owner_name, owner_email=owner_email, **parts)


# The parts of TEMPLATE that `init --from-data` writes from the data; their defaults. Each is
# one or more whole lines, formatted with the charter's name.
_DEFAULT_DATA = """\
data:
  source: {{kind: parquet_dir, path: landing/{name}/}}   # or csv_dir, jsonl_dir, sql
  key: id                          # identifies a row; labels join on it
  event_time: event_at             # when the event happened (drives windows and lateness)
  freshness: {{max_lateness: 2h}}    # older rows are scored but flagged late
  volume: {{min_rows: 1}}
  fields:
    id:       {{type: string, nullable: false, unique: true}}
    event_at: {{type: datetime, nullable: false}}
    amount:   {{type: float, nullable: false, min: 0}}
    channel:  {{type: string, allowed: [web, branch, phone], max_null_fraction: 0.05}}
"""
_DEFAULT_TASK = "task: binary_classification        # or: multiclass_classification, regression\n"
_DEFAULT_METRICS = """\
    - {{metric: roc_auc, at_least: 0.75, warn_at: 0.78}}
    - {{metric: recall, at_least: 0.60}}
"""
_MULTICLASS_METRICS = """\
    - {{metric: f1_macro, at_least: 0.70}}      # the mean of the classes' f1
    - {{metric: {first}, at_least: 0.60}}  # one class, one-vs-rest: name the one that matters
"""
_DEFAULT_LABELS = (
    "labels: {{key: id, target: outcome}}  # ground truth: `charter labels {name} FILE`\n"
)


def render_inferred(
    name: str,
    contract: InferredContract,
    *,
    owner_name: str = "Owner Name",
    owner_email: str = "owner@example.com",
) -> str:
    """The scaffold with its task, data contract and labels read off a sample of the data.

    Each inferred field carries a comment saying what it was read from; the sufficiency numbers
    stay placeholders to agree with the owner (a regression charter starts from the bound learnt
    from the reference).
    """
    width = max(len(flow(f.name)) for f in contract.fields) + 1
    fields = "".join(
        f"    {(flow(f.name) + ':').ljust(width)} {flow(f.contract())}  # {f.note}\n"
        for f in contract.fields
    )
    data = (
        f"# Inferred from {contract.source} ({contract.rows:,} rows): review every line.\n"
        "data:\n"
        f"  source: {{kind: {contract.source_kind}, path: landing/{name}/}}   "
        "# or csv_dir, jsonl_dir, parquet_dir, sql\n"
        f"  key: {flow(contract.key)}\n"
        f"  event_time: {flow(contract.event_time)}\n"
        "  freshness: {max_lateness: 2h}    # older rows are scored but flagged late\n"
        "  volume: {min_rows: 1}\n"
        "  fields:\n" + fields
    )
    target = contract.target
    task = f"task: {contract.task}" + (
        f"  # from the values of {target} in {Path(contract.source).name}\n" if target else "\n"
    )
    values = f", values: {flow(contract.classes)}" if contract.classes else ""
    labels = (
        f"labels: {{key: {flow(contract.key)}, target: {flow(target)}{values}}}"
        f"  # ground truth: `charter labels {name} FILE`\n"
        if target
        else f"labels: {{key: {flow(contract.key)}, target: outcome}}"
        "  # name the column that holds the outcome\n"
    )
    metrics = {
        "regression": "    - {metric: mae, at_most: reference}   # the reference's bound: agree "
        "a number\n",
        "multiclass_classification": _MULTICLASS_METRICS.format(
            first=json.dumps(f"recall[{(contract.classes or ['CLASS'])[0]}]")  # quoted: YAML
        ),
    }.get(contract.task, _DEFAULT_METRICS.format())
    model = contract.model
    if model is not None and model.metrics:
        metrics = _measured_metrics(contract, model)
    if model is not None and model.features is not None:
        data += (
            f"  features: {flow(model.features)}"
            f"  # what {Path(model.source).name} reads ({model.where})\n"
        )
    return _fill(
        name, owner_name, owner_email, task=task, metrics=metrics, data=data, labels=labels
    )


def _measured_metrics(contract: InferredContract, model: InferredModel) -> str:
    """The sufficiency rules proposed from the model's measured performance, each commented."""
    source = f"{Path(model.source).name} on {model.rows:,} rows of {Path(contract.source).name}"
    lines = [
        f"    # Measured by {source};\n"
        "    # honest only if the model did not train on those rows (give a hold-out).\n"
    ]
    for m in model.metrics:
        margin = "0.05 below" if m.higher_is_better else "25% above"
        lines.append(f"    - {flow(m.rule())}  # measured {m.measured:.4g}; bound {margin}\n")
    return "".join(lines)


def flow(value: Any) -> str:
    """``value`` as a one-line YAML flow value (quoted where YAML would misread it)."""
    import yaml

    return (
        str(yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6))
        .strip()
        .removesuffix("\n...")
        .strip()
    )


def render_with_data(
    name: str,
    data: str,
    *,
    key: str,
    owner_name: str = "Owner Name",
    owner_email: str = "owner@example.com",
) -> str:
    """The scaffold with ``data`` (a whole ``data:`` block, e.g. imported from ODCS) in place of
    the example contract; labels join on ``key``."""
    labels = (
        f"labels: {{key: {flow(key)}, target: outcome}}  # name the column that holds the outcome\n"
    )
    return _with_defaults(name, owner_name, owner_email, data=data, labels=labels)


def write_scaffold(
    charters_dir: Path,
    name: str,
    *,
    owner_name: str,
    owner_email: str,
    force: bool = False,
    inferred: InferredContract | None = None,
) -> Path:
    """Write ``charters_dir/NAME.yaml`` from the template (with the contract ``inferred`` from
    data, when given); refuse to overwrite unless ``force``."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise CharterError(
            f"{name!r} is not a valid charter name",
            hint="Use lower-case letters, digits, '-' and '_', starting with a letter or digit.",
        )
    path = charters_dir / f"{name}.yaml"
    if path.exists() and not force:
        raise CharterError(f"{path} already exists", hint="Pass --force to overwrite it.")
    if inferred is None:
        text = render(name, owner_name=owner_name, owner_email=owner_email)
    else:
        text = render_inferred(name, inferred, owner_name=owner_name, owner_email=owner_email)
    parse_charter(text, source=str(path))  # the scaffold must always pass its own check
    charters_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
