"""Contract validation: charter against Pandera (Polars and pandas back ends), Great Expectations
and a hand-written Polars floor, on 5,000,000 rows × 10 columns and 15 rules with ~1% bad rows.

Run: ``python -m benchmarks.validation`` from the repository root (any interpreter: it re-executes
itself in ``benchmarks/.venv``, creating it on the first run). ``--help`` lists the knobs.

Every tool does the same work: check the 15 rules and split the batch into valid and failing rows.
charter also names every rule each failing row broke; Pandera's pandas back end and Great
Expectations report failure cases per check; Pandera's Polars back end with
``drop_invalid_rows=True`` returns only the valid rows; the floor computes one row mask and splits.

Before timing, the answers are compared (on all rows unless ``--agree-rows``): every tool must
fail the same rows. One semantic difference is known and designed around: charter (and the floor)
pass the first occurrence of a duplicated key and fail the later ones, while Pandera and Great
Expectations fail every occurrence. The data's duplicates are exact copies of a row in adjacent
pairs, so the surviving row is the same either way, and rows are compared after adding every row
whose key is duplicated to each tool's failing set.

Great Expectations runs on all rows (about 20 s a run here). ``--ge-rows N`` runs it on the first
N rows instead, times charter on the same subset for a like-for-like ratio and extrapolates to the
full size linearly, saying so in the report. Peak RSS is measured once per tool in a fresh child
process.

The headline batch has its rows, and so its keys, in random order: the hardest fair case for a
unique-key check (a neighbour comparison cannot be used; every tool must hash or sort). It is
written to Parquet shuffled and read back, as a batch arriving from a file would be. The second
set of rows runs charter, the floor and Pandera's Polars back end on the same rows with the keys
in order, as sequence numbers arrive.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import _env

PEERS = ["pandera[polars,pandas]", "great-expectations"]
_env.reexec_in_venv("benchmarks.validation", PEERS)

import numpy as np  # noqa: E402  (imported inside the benchmark venv)
import polars as pl  # noqa: E402

from charter.engines.polars.contract import validate  # noqa: E402
from charter.spec.model import DataContract  # noqa: E402

DATA = Path(__file__).with_name(".data")
RESULTS = Path(__file__).with_name("RESULTS.md")
SEED = 20261124
ROW = "row_no"
EMPLOYMENT = ["salaried", "self_employed", "unemployed", "retired"]
REGIONS = ["north", "south", "east", "west", "central"]
POSTCODE = r"[A-Z]{2}[0-9]{3}"
EMAIL = r"[a-z]{3,8}\.[a-z]{3,8}@[a-z]{4,9}\.(com|org|net)"
TYPES = dict.fromkeys(["id", "age", "n_accounts"], "int")
TYPES |= dict.fromkeys(["income", "debt_ratio", "score"], "float")
TYPES |= dict.fromkeys(["employment", "region", "postcode", "email"], "string")
DTYPES = {"int": pl.Int64, "float": pl.Float64, "string": pl.String}
NOT_NULL = ["id", "age", "income", "employment", "postcode"]
RANGES = {
    "age": (18, 100),
    "n_accounts": (0, 50),
    "income": (0.0, 1e7),
    "debt_ratio": (0.0, 5.0),
    "score": (300.0, 850.0),
}
ALLOWED = {"employment": EMPLOYMENT, "region": REGIONS}
PATTERNS = {"postcode": POSTCODE, "email": EMAIL}
BAD_RATE = 0.0007  # per rule; 14 rules plus ~0.05% duplicate pairs make ~1% bad rows


# -- data --------------------------------------------------------------------------------------------
def make_data(rows: int, seed: int = SEED) -> pl.DataFrame:
    """The batch: 3 int, 3 float and 4 string columns, with each rule broken in ~0.07% of rows."""
    rng = np.random.default_rng(seed)

    def pick(pool: list[str]) -> pl.Series:
        return pl.Series(pool).gather(rng.integers(0, len(pool), rows))

    letters = [chr(c) for c in range(65, 91)]
    postcodes = [
        f"{a}{b}{i:03d}" for a in letters[:10] for b in letters[:10] for i in range(0, 1000, 7)
    ]
    words = ["".join(rng.choice(list("abcdefghij"), 6)) for _ in range(300)]
    emails = [
        f"{words[i]}.{words[-i - 1]}@{d}.{t}"
        for i in range(150)
        for d in ("mailer", "post")
        for t in ("com", "org", "net")
    ]
    df = pl.DataFrame(
        {
            "id": np.arange(1_000_000, 1_000_000 + rows, dtype=np.int64),
            "age": rng.integers(18, 101, rows),
            "n_accounts": rng.integers(0, 51, rows),
            "income": np.clip(rng.lognormal(10.5, 0.6, rows), 0.0, 9e6),
            "debt_ratio": rng.uniform(0.0, 5.0, rows),
            "score": rng.uniform(300.0, 850.0, rows),
            "employment": pick(EMPLOYMENT),
            "region": pick(REGIONS),
            "postcode": pick(postcodes),
            "email": pick(emails),
        }
    )
    broken: dict[str, Any] = {"age": 150, "n_accounts": -1, "income": -5.0, "debt_ratio": 7.5}
    broken |= {"score": 100.0, "employment": "contractor", "region": "atlantis"}
    broken |= {"postcode": "A12345", "email": "not-an-email"}
    changes = [_where(rng, rows, column, pl.lit(value)) for column, value in broken.items()]
    df = df.with_columns(changes)
    df = df.with_columns(_where(rng, rows, column, pl.lit(None)) for column in NOT_NULL)
    # Duplicate keys: row i+1 becomes an exact copy of row i, for ~0.05% of the odd positions.
    order = np.arange(rows)
    odd = np.arange(1, rows, 2)
    copies = odd[rng.random(odd.size) < BAD_RATE * 1.4]
    order[copies] = copies - 1
    return df[order]


def _where(rng: np.random.Generator, rows: int, column: str, value: pl.Expr) -> pl.Expr:
    mask = pl.Series(rng.random(rows) < BAD_RATE)
    return pl.when(pl.lit(mask)).then(value).otherwise(pl.col(column)).alias(column)


def load_data(rows: int, head: int | None = None, *, ordered: bool = False) -> pl.DataFrame:
    """The batch (its first ``head`` rows) from the cache in ``benchmarks/.data``, made on first
    use: rows shuffled (the headline) or, with ``ordered``, with the keys in order."""
    path = DATA / f"validation-{rows}-{SEED}{'' if ordered else '-shuffled'}.parquet"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        made = make_data(rows)
        if not ordered:
            made = made.sample(fraction=1.0, shuffle=True, seed=SEED)
        made.write_parquet(path)
    scan = pl.scan_parquet(path)
    return (scan if head is None else scan.head(head)).collect()


def charter_contract() -> DataContract:
    fields: dict[str, dict[str, Any]] = {name: {"type": kind} for name, kind in TYPES.items()}
    for name in NOT_NULL:
        fields[name]["nullable"] = False
    for name, (low, high) in RANGES.items():
        fields[name] |= {"min": low, "max": high}
    for name, values in ALLOWED.items():
        fields[name]["allowed"] = values
    for name, pattern in PATTERNS.items():
        fields[name]["pattern"] = pattern
    source = {"kind": "parquet_dir", "path": "landing"}
    return DataContract.model_validate({"source": source, "key": "id", "fields": fields})


# -- the tools ---------------------------------------------------------------------------------------
# Each tool is (prepare(polars frame) -> input, run(input) -> failing-row selector for agreement).
def _charter() -> Callable[[pl.DataFrame], Any]:
    contract = charter_contract()
    return lambda df: validate(df, contract)


def _floor() -> Callable[[pl.DataFrame], Any]:
    """The same checks hand-written in Polars, with the same algorithms as charter: one boolean
    column per check in one ``select`` (Polars runs them in parallel), OR-ed into one mask."""
    col = pl.col
    checks = [col(name).is_null() for name in NOT_NULL]
    checks += [~col(name).is_between(low, high) for name, (low, high) in RANGES.items()]
    checks += [~pl.any_horizontal([col(name) == v for v in vs]) for name, vs in ALLOWED.items()]
    checks += [~col(name).str.contains(f"^(?:{p})$") for name, p in PATTERNS.items()]

    def run(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        ids = df.get_column("id").drop_nulls()
        if ids.is_sorted():  # keys in order: a repeat equals the previous non-null key
            repeat = col("id").eq(col("id").forward_fill().shift(1)).fill_null(False)
        else:  # one sort finds the repeated keys; only their rows are hashed
            ranked = ids.sort()
            twice = ranked.filter(ranked == ranked.shift(1)).unique().implode()
            keys = df.get_column("id")
            suspects = keys.is_in(twice).fill_null(False).arg_true()
            later = suspects.filter(~keys.gather(suspects).is_first_distinct())
            flags = pl.repeat(False, df.height, dtype=pl.Boolean, eager=True)
            repeat = pl.lit(flags.scatter(later, True) if later.len() else flags)
        columns = df.select(*(c.alias(str(i)) for i, c in enumerate(checks)), repeat.alias("u"))
        mask = columns.select(pl.any_horizontal(pl.all()).fill_null(False)).to_series()
        return df.filter(~mask), df.filter(mask)

    return run


def _pandera_polars() -> Callable[[pl.DataFrame], Any]:
    import pandera.polars as pa

    schema = pa.DataFrameSchema(_pandera_columns(pa, polars=True), drop_invalid_rows=True)
    return lambda df: schema.validate(df, lazy=True)


def _pandera_pandas() -> Callable[[Any], Any]:
    import pandera.pandas as pa

    schema = pa.DataFrameSchema(_pandera_columns(pa, polars=False))

    def run(pdf: Any) -> Any:
        try:
            schema.validate(pdf, lazy=True)
            return pdf, pdf.iloc[:0], None
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            bad = cases["index"].dropna().unique()
            return pdf.drop(index=bad), pdf.loc[bad], cases

    return run


def _pandera_columns(pa: Any, *, polars: bool) -> dict[str, Any]:
    columns = {}
    for name, kind in TYPES.items():
        checks = []
        if name in RANGES:
            checks.append(pa.Check.in_range(*RANGES[name]))
        if name in ALLOWED:
            checks.append(pa.Check.isin(ALLOWED[name]))
        if name in PATTERNS:
            checks.append(pa.Check.str_matches(f"^(?:{PATTERNS[name]})$"))
        # pandas turns integer columns with nulls into floats, so dtypes are checked on Polars only
        dtype = DTYPES[kind] if polars else None
        columns[name] = pa.Column(
            dtype, nullable=name not in NOT_NULL, unique=name == "id", checks=checks
        )
    return columns


def _great_expectations() -> Callable[[Any], Any]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("pandas").add_dataframe_asset(name="batch")
    definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add(gx.ExpectationSuite(name="contract"))
    for name in NOT_NULL:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="id"))
    for name, (low, high) in RANGES.items():
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(column=name, min_value=low, max_value=high)
        )
    for name, values in ALLOWED.items():
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=values))
    for name, pattern in PATTERNS.items():
        suite.add_expectation(
            gxe.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{pattern})$")
        )

    def run(pdf: Any) -> Any:
        batch = definition.get_batch(batch_parameters={"dataframe": pdf})
        report = batch.validate(suite, result_format={"result_format": "COMPLETE"})
        found = (result.result.get("unexpected_index_list") or [] for result in report.results)
        bad = sorted(set().union(*found))
        return pdf.drop(index=bad), pdf.loc[bad], report

    return run


TOOLS: dict[str, tuple[str, Callable[[], Callable[[Any], Any]]]] = {
    # name: (input format, factory)
    "charter": ("polars", _charter),
    "polars floor": ("polars", _floor),
    "pandera polars": ("polars", _pandera_polars),
    "pandera pandas": ("pandas", _pandera_pandas),
    "great expectations": ("pandas", _great_expectations),
}


def as_input(kind: str, df: pl.DataFrame) -> Any:
    """The tool's natural input, prepared before timing (pandas tools get a pandas frame)."""
    return df.to_pandas() if kind == "pandas" else df


def failing_rows(tool: str, output: Any, frame: pl.DataFrame) -> set[int]:
    """Row numbers a tool's output puts among the failing rows."""
    if tool == "charter":
        return set(output.failed[ROW].to_list())
    if tool == "polars floor":
        return set(output[1][ROW].to_list())
    if tool == "pandera polars":
        return set(range(frame.height)) - set(output[ROW].to_list())
    return {int(i) for i in output[1].index}


# -- measuring ---------------------------------------------------------------------------------------
def check_agreement(df: pl.DataFrame, rows: int) -> list[dict[str, Any]]:
    """Each tool's failing rows on the first ``rows`` rows, normalised for duplicate-key semantics."""
    subset = df.head(rows).with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    duplicated = set(
        subset.filter(pl.col("id").is_duplicated() & pl.col("id").is_not_null())[ROW].to_list()
    )
    report, reference = [], None
    for tool, (kind, factory) in TOOLS.items():
        output = factory()(as_input(kind, subset))
        raw = failing_rows(tool, output, subset)
        normalised = raw | duplicated
        reference = normalised if reference is None else reference
        report.append(
            {
                "tool": tool,
                "failing": len(raw),
                "normalised": len(normalised),
                "agrees": normalised == reference,
            }
        )
        print(f"  agreement on {rows:,} rows: {tool}: {len(raw):,} failing", flush=True)
    return report


@dataclass
class Entry:
    """One timed line of the table: a tool on some rows, compared with charter on the same rows."""

    label: str
    tool: str
    rows: int
    baseline: str  # the charter entry this one is divided by
    data: Any
    run: Callable[[Any], Any] = field(repr=False)
    slow: bool = False  # slow tools run once per round, the others ``repeat`` times
    times: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.times)


def run_once(run: Callable[[Any], Any], data: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    output = run(data)
    elapsed = time.perf_counter() - start
    del output
    return elapsed


def time_all(
    df: pl.DataFrame, ordered: pl.DataFrame, ge_rows: int, rounds: int, repeat: int
) -> dict[str, Entry]:
    """Alternate the entries for ``rounds`` rounds; the fast ones run ``repeat`` times per round.

    ``df`` is the headline batch (rows shuffled); ``ordered`` the same rows, keys in order."""
    pandas = df.to_pandas()
    ge_label, ge_data, ge_baseline = "great expectations", pandas, "charter"
    plan = [  # label, tool, baseline, data, slow
        ("charter", "charter", "charter", df, False),
        ("polars floor", "polars floor", "charter", df, False),
        ("pandera polars", "pandera polars", "charter", df, False),
        ("pandera pandas", "pandera pandas", "charter", pandas, True),
    ]
    if ge_rows < df.height:  # Great Expectations on a subset, compared with charter on it
        ge_baseline = f"charter (first {ge_rows:,} rows)"
        ge_label, ge_data = f"great expectations (first {ge_rows:,} rows)", pandas.head(ge_rows)
        plan.append((ge_baseline, "charter", ge_baseline, df.head(ge_rows), False))
    plan.append((ge_label, "great expectations", ge_baseline, ge_data, True))
    in_order = "charter (keys in order)"
    plan.append((in_order, "charter", in_order, ordered, False))
    plan.append(("polars floor (keys in order)", "polars floor", in_order, ordered, False))
    plan.append(("pandera polars (keys in order)", "pandera polars", in_order, ordered, False))
    entries = [
        Entry(label, tool, len(data), baseline, data, TOOLS[tool][1](), slow)
        for label, tool, baseline, data, slow in plan
    ]
    for round_no in range(rounds):
        shift = round_no % len(entries)
        for entry in entries[shift:] + entries[:shift]:
            for _ in range(1 if entry.slow else repeat):
                entry.times.append(run_once(entry.run, entry.data))
            last = entry.times[-1]
            print(f"  round {round_no + 1}/{rounds}: {entry.label}: {last:.2f}s", flush=True)
    for entry in entries:
        entry.data = None  # free the inputs before the memory measurements
    return {entry.label: entry for entry in entries}


def peak_rss(tool: str, rows: int, use: int) -> dict[str, float]:
    """Run the tool once on ``use`` rows in a fresh process: its peak RSS and resident input, MiB."""
    command = [sys.executable, "-m", "benchmarks.validation", "--rows", str(rows)]
    command += ["--rss-child", tool, "--rss-rows", str(use)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rss_child(tool: str, rows: int, use: int) -> None:
    kind, factory = TOOLS[tool]
    data = as_input(kind, load_data(rows, head=use))
    run = factory()
    gc.collect()
    resident = _status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: loading's peak is not the tool's
    run(data)
    print(json.dumps({"peak": _status_mib("VmHWM"), "input": resident}))


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc (ru_maxrss cannot be reset, and would include
    the parent's: a forked child inherits its high-water mark, which exec does not reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


# -- report ------------------------------------------------------------------------------------------
def _summary(df: pl.DataFrame) -> str:
    bad = validate(df, charter_contract()).failed.height
    return (
        f"{df.height:,} rows × {df.width} columns (3 int64, 3 float64, 4 string), 15 rules "
        f"(5 not-null, a unique key, 5 ranges, 2 allowed sets, 2 regular expressions); "
        f"{bad:,} failing rows ({bad / df.height:.2%}); seed {SEED}; rows (and keys) shuffled, "
        "read from Parquet; the entries marked *keys in order* use the same rows in key order"
    )


def render(
    args: argparse.Namespace,
    df: pl.DataFrame,
    agreement: list[dict[str, Any]],
    entries: dict[str, Entry],
    rss: dict[str, dict[str, float]],
) -> str:
    packages = [
        "charter-ml",
        "polars",
        "pandas",
        "pandera",
        "great-expectations",
        "pyarrow",
        "numpy",
    ]
    lines = [
        f"\n## Contract validation — {_env.stamp()}\n",
        f"Machine: {_env.machine()}; {_env.versions(packages)}. Load average (1 min) at start "
        f"{args.load[0]:.1f}, at end {os.getloadavg()[0]:.1f}: the machine is shared, so the "
        "ratios (same run, alternating) mean more than the absolute times.",
        f"Data: {_summary(df)}.",
        f"Command: `{_command()}`",
        "",
        f"Agreement on {'all' if args.agree_rows == df.height else 'the first'} "
        f"{args.agree_rows:,} rows. Failing rows as reported, then with every "
        "row of a duplicated key added (charter and the floor pass a key's first occurrence; Pandera "
        "and Great Expectations fail every occurrence; the duplicates are exact copies):",
        "",
        "| tool | failing rows | normalised | same rows as charter |",
        "| --- | ---: | ---: | --- |",
    ]
    for item in agreement:
        agrees = "yes" if item["agrees"] else "**NO**"
        lines.append(
            f"| {item['tool']} | {item['failing']:,} | {item['normalised']:,} | {agrees} |"
        )
    lines += [
        "",
        "Seconds, entries alternating; ratios to charter on the same rows, of medians and of minima.",
        "",
        "| tool | rows | runs | min s | median s | ratio (median) | ratio (min) | peak RSS MiB (input) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, entry in entries.items():
        base = entries[entry.baseline]
        ratios = (
            f"{entry.median() / base.median():.2f}× | {min(entry.times) / min(base.times):.2f}×"
        )
        memory = rss.get(label)
        memory_text = f"{memory['peak']:,.0f} ({memory['input']:,.0f})" if memory else "-"
        lines.append(
            f"| {label} | {entry.rows:,} | {len(entry.times)} | {min(entry.times):.3f} | "
            f"{entry.median():.3f} | {ratios} | {memory_text} |"
        )
    lines += ["", _headline(entries), "", _NOTES]
    return "\n".join(lines) + "\n"


def _headline(entries: dict[str, Entry]) -> str:
    charter = entries["charter"]
    ge = next(e for label, e in entries.items() if label.startswith("great expectations"))
    ge_text = f"Great Expectations {ge.median() / entries[ge.baseline].median():.1f}×"
    if ge.rows < charter.rows:
        extrapolated = ge.median() * charter.rows / ge.rows
        ge_text += (
            f" on its {ge.rows:,} rows (extrapolated linearly to {charter.rows:,} rows: "
            f"{extrapolated:.0f} s, {extrapolated / charter.median():.1f}× charter)"
        )
    ordered = entries["charter (keys in order)"]

    def ratio(label: str, base: Entry) -> str:
        entry = entries[label]
        return f"{entry.median() / base.median():.2f}× (minima {min(entry.times) / min(base.times):.2f}×)"

    return (
        f"Headline (keys shuffled; medians, peer / charter): Pandera Polars "
        f"{ratio('pandera polars', charter)}, Pandera pandas {ratio('pandera pandas', charter)}, "
        f"{ge_text}; charter / floor {charter.median() / entries['polars floor'].median():.2f}×. "
        f"Keys in order: Pandera Polars {ratio('pandera polars (keys in order)', ordered)}; "
        f"charter / floor "
        f"{ordered.median() / entries['polars floor (keys in order)'].median():.2f}×."
    )


_NOTES = (
    "What each produces: charter, the valid rows (typed) and the failing rows with every rule each "
    "broke; the floor, the two frames; Pandera Polars (`drop_invalid_rows=True`, lazy), only the "
    "valid rows, no reasons; Pandera pandas (lazy) and Great Expectations (`COMPLETE` results), "
    "failure cases per check, from which the benchmark splits the frame (timed). The floor uses the "
    "same algorithms as charter (one column per rule in one `select`; equality tests for small "
    "allowed sets; a neighbour comparison for repeated keys when the keys are in order, otherwise "
    "one sort to find the repeated keys and a hash of only their rows). Pandera and Great "
    "Expectations check uniqueness their own way (hashing). Peak RSS: the whole process (VmHWM) "
    "while the tool runs, one fresh process per tool whose input, in the tool's own format, is "
    "loaded before the peak is reset (its resident size in parentheses)."
)


def _command() -> str:
    return " ".join(["python -m benchmarks.validation", *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of alternating tools")
    parser.add_argument("--repeat", type=int, default=3, help="runs per round for the fast tools")
    parser.add_argument("--ge-rows", type=int, help="rows for Great Expectations (default: all)")
    parser.add_argument("--agree-rows", type=int, help="rows compared for answers (default: all)")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child processes")
    parser.add_argument(
        "--no-write", action="store_true", help="print, do not append to RESULTS.md"
    )
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--rss-rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        _rss_child(args.rss_child, args.rows, args.rss_rows)
        return
    started, args.load = time.perf_counter(), os.getloadavg()
    print(f"data: {args.rows:,} rows", flush=True)
    df = load_data(args.rows)
    ordered = load_data(args.rows, ordered=True)
    print("checking that every tool fails the same rows", flush=True)
    args.agree_rows = min(args.agree_rows or df.height, df.height)
    agreement = check_agreement(df, args.agree_rows)
    print("timing", flush=True)
    ge_rows = min(args.ge_rows or df.height, df.height)
    entries = time_all(df, ordered, ge_rows, args.rounds, args.repeat)
    rss: dict[str, dict[str, float]] = {}
    if not args.no_rss:
        print("peak RSS, one fresh process per tool", flush=True)
        for label, entry in entries.items():
            if "keys in order" not in label:
                rss[label] = peak_rss(entry.tool, df.height, entry.rows)
    text = render(args, df, agreement, entries, rss)
    print(text)
    print(f"(whole run: {time.perf_counter() - started:.0f} s)")
    if not args.no_write:
        with RESULTS.open("a") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
