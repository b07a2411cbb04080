"""Dashboard pages with history: server time of the overview, a charter's page and its sub-pages.

Run: ``python -m benchmarks.dashboard [--runs 9] [--charters 50] [--days 365] [--inputs 30]``
from the repository root, with the project's own interpreter (no peers: it runs in the current
environment, not in ``benchmarks/.venv``). The target (issue 12, "Pages stay fast with history"):
the overview with 50 charters and a charter's page with a year of daily windows and 30 inputs
render in under 300 ms of server time.

The workspace is built the way a user's would be, through charter's own functions only: each
charter is a YAML file; a scikit-learn pipeline trained on generated data is registered with a
labelled reference; daily Parquet files land in the charter's source folder and are ingested
(one batch per file: validated, scored, logged); the outcomes arrive as a labels file; and
``charter.services.monitoring.monitor`` evaluates and stores every window, raising the alerts
they call for. So the store holds what ingest + monitor write, no row written by hand.

- ``year-daily``: ``--inputs`` inputs (two thirds numeric, one third categorical), a 1-day window,
  ``--days`` daily files of ``--rows-per-day`` rows ending today, a live version and a shadow
  version (both judged on every window, as the charter page shows both), drift from the middle of
  the year on a third of the inputs (so the heat map has every level).
- ``--charters`` - 1 further charters, ``fleet-NN``: 5 inputs, a 7-day window, 12 weekly files,
  one live version; every third one's latest weeks drift. With ``year-daily`` they make the
  overview.

Each page is requested in-process through the ASGI app (``charter.server.app.create_app`` with
Starlette's ``TestClient``), signed in as the owner with a token through ``/login`` as a browser
would (the session cookie), ``--runs`` times after one warm-up, pages interleaved (one request
of each per round). The time is the request's wall time in this process: the server's work plus
the in-process transport (well under a millisecond), with no network and no browser: an upper
bound of server time. Each answer must be 200 and show what the page is for, else the run stops.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import joblib
import numpy as np
import polars as pl
from fastapi.testclient import TestClient
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmarks import _env
from charter.monitoring.service import stored_windows
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.registry.versions import set_status
from charter.server.app import create_app
from charter.server.auth import Caller
from charter.server.dashboard import pages as dashboard
from charter.server.dashboard import subpages
from charter.server.dashboard.routes import Visitor, _charter_response, render
from charter.services.monitoring import monitor
from charter.services.registry import register
from charter.settings import Settings
from charter.tokens import authenticate, create_token
from charter.workspace import Workspace

RESULTS = Path(__file__).with_name("RESULTS.md")
PACKAGES = ("charter-ml", "fastapi", "starlette", "jinja2", "SQLAlchemy", "polars", "scikit-learn")
BIG = "year-daily"
OWNER = "dana.ruiz@bank.example"
TARGET_MS = 300.0
SEED = 20261203
LEVELS = ("low", "mid", "high")

CHARTER = """\
name: {name}
decision: "{decision}"
task: binary_classification
owner: {{name: "Dana Ruiz", email: {owner}}}
sufficiency:
  window: {window}
  min_labels: 30
  metrics:
    - {{metric: roc_auc, at_least: 0.65, warn_at: 0.75}}
    - {{metric: roc_auc, at_least: 0.6, segment: "c0 == 'low'"}}
data:
  source: {{kind: parquet_dir, path: landing/{name}/, settle: 0s}}
  key: id
  event_time: event_at
  freshness: {{max_lateness: 800d}}
  fields:
    id:       {{type: string, nullable: false, unique: true}}
    event_at: {{type: datetime, nullable: false}}
{fields}
labels: {{key: id, target: outcome}}
operations:
  monitor: {{reference: training, drift: {{method: psi, warn: 0.1, breach: 0.25}}}}
  alerts:
    - {{route: log, on: [breach, drift_breach]}}
"""


@dataclass(frozen=True)
class Shape:
    """A charter's inputs, window and history."""

    name: str
    inputs: int
    window: str
    files: int
    rows_per_file: int
    step: timedelta
    drift_from: int  # the file from which a third of the numeric inputs drift (never: files)

    @property
    def numeric(self) -> list[str]:
        return [f"x{i}" for i in range(self.inputs - self.inputs // 3)]

    @property
    def categorical(self) -> list[str]:
        return [f"c{i}" for i in range(self.inputs // 3)]

    def yaml(self) -> str:
        fields = [f"    {n}: {{type: float}}" for n in self.numeric]
        fields += [
            f"    {c}: {{type: string, allowed: [low, mid, high]}}" for c in self.categorical
        ]
        return CHARTER.format(
            name=self.name,
            decision=f"Approve or refer applications ({self.name})",
            owner=OWNER,
            window=self.window,
            fields="\n".join(fields),
        )

    def frame(
        self, n: int, seed: int, start: datetime, span: timedelta, shift: float
    ) -> pl.DataFrame:
        """``n`` rows with event times spread over ``span`` from ``start``, and their outcome."""
        rng = np.random.default_rng(seed)
        columns: dict[str, object] = {
            "id": [f"{self.name}-{seed}-{i}" for i in range(n)],
            "event_at": [start + span * (i / n) for i in range(n)],
        }
        logit = np.zeros(n)
        for i, name in enumerate(self.numeric):
            values = rng.normal(0.0, 1.0, n) + (shift if i % 3 == 0 else 0.0)
            columns[name] = values
            logit += values * (1.5 if i == 0 else 0.3 / (1 + i))
        for name in self.categorical:
            picked = rng.choice(len(LEVELS), n, p=[0.5, 0.3, 0.2])
            columns[name] = [LEVELS[k] for k in picked]
            logit += (picked - 1) * 0.3
        columns["outcome"] = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(int)
        return pl.DataFrame(columns)


def _model(shape: Shape, train: pl.DataFrame, c: float) -> Pipeline:
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", StandardScaler(), shape.numeric),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), shape.categorical),
                    ]
                ),
            ),
            ("classify", LogisticRegression(C=c, max_iter=1000)),
        ]
    )
    inputs = train.select(*shape.numeric, *shape.categorical).to_pandas()
    pipeline.fit(inputs, train["outcome"].to_numpy())
    return pipeline


def build_charter(
    ws: Workspace, shape: Shape, seed: int, now: datetime, versions: int, *, monitored: bool = True
) -> None:
    """Charter file, model versions with a reference, the daily/weekly files, labels, and (if
    ``monitored``) monitor."""
    ws.charters_dir.mkdir(parents=True, exist_ok=True)
    (ws.charters_dir / f"{shape.name}.yaml").write_text(shape.yaml())
    folder = ws.root / "models" / shape.name
    folder.mkdir(parents=True)
    first = now - shape.step * shape.files
    train = shape.frame(3000, seed, first - timedelta(days=30), timedelta(days=30), 0.0)
    reference = folder / "reference.parquet"
    train.drop("event_at").write_parquet(reference)
    for v in range(versions):
        path = folder / f"model-{v + 1}.joblib"
        joblib.dump(_model(shape, train, c=1.0 / (1 + 9 * v)), path)
        info = register(ws, shape.name, path, reference=reference)
        with ws.db.session() as session:
            set_status(ws, session, shape.name, info.version, "live" if v == 0 else "shadow")
    landing = ws.root / "landing" / shape.name
    landing.mkdir(parents=True)
    outcomes = []
    for f in range(shape.files):
        shift = 0.8 if f >= shape.drift_from else 0.0
        frame = shape.frame(
            shape.rows_per_file, seed + 1 + f, first + shape.step * f, shape.step, shift
        )
        outcomes.append(frame.select("id", "outcome"))
        frame.drop("outcome").write_parquet(landing / f"{f:04d}.parquet")
    report = ingest(ws, shape.name)
    assert not report.files_failed, report.files_failed
    labels = ws.root / "labels" / f"{shape.name}.parquet"
    labels.parent.mkdir(exist_ok=True)
    pl.concat(outcomes).write_parquet(labels)
    ingest_labels(ws, shape.name, labels)
    if monitored:
        monitor(ws, shape.name)


@dataclass
class Built:
    ws: Workspace
    seconds: float
    big: Shape
    windows: int  # stored windows of the big charter (all its versions)
    drift_cells: int  # inputs x windows of the big charter's live version with drift


def build(root: Path, args: argparse.Namespace) -> Built:
    start = time.perf_counter()
    ws = Workspace(root, settings=Settings(workspace=root, actor="bench@bank.example"))
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    big = Shape(
        BIG, args.inputs, "1d", args.days, args.rows_per_day, timedelta(days=1), args.days // 2
    )
    build_charter(ws, big, SEED, now, versions=2)
    for k in range(args.charters - 1):
        fleet = Shape(
            f"fleet-{k:02d}", 5, "7d", 12, 300, timedelta(days=7), 9 if k % 3 == 0 else 12
        )
        build_charter(ws, fleet, SEED + 1000 * (k + 1), now, versions=1)
    found = stored_windows(ws, BIG)
    live = [w for w in found if w.version == "1" and w.data.get("drift")]
    cells = sum(len(w.data["drift"]) for w in live)
    return Built(ws, time.perf_counter() - start, big, len(found), cells)


@dataclass
class Page:
    """One page: its path, what its answer must show, the times of its requests, and ``direct``:
    what its route runs (compose + render), called in this thread for the profile."""

    label: str
    path: str
    shows: str
    direct: Callable[[Visitor], object]
    seconds: list[float] = field(default_factory=list)
    size: int = 0

    def fetch(self, client: TestClient) -> float:
        start = time.perf_counter()
        answer = client.get(self.path)
        elapsed = time.perf_counter() - start
        if answer.status_code != 200 or self.shows not in answer.text:
            raise SystemExit(f"{self.path}: {answer.status_code}, {self.shows!r} not shown")
        self.size = len(answer.content)
        return elapsed


def pages(built: Built) -> list[Page]:
    ws = built.ws
    start = [w for w in stored_windows(ws, BIG) if w.version == "1"][-1].start
    name = quote(BIG)
    histogram = f"/charters/{name}/drift/1/x0?window={quote(start.isoformat())}"

    def versions(v: Visitor) -> object:
        top, lineage = subpages.versions_page(ws, BIG)
        return render("versions.html", visitor=v, s=top, lineage=lineage)

    return [
        Page(
            f"overview ({len(ws.charter_names())} charters)",
            "/",
            BIG,
            lambda v: render("overview.html", visitor=v, charters=dashboard.overview(ws)),
        ),
        Page(
            "charter page",
            f"/charters/{name}",
            'data-testid="drift-map"',
            lambda v: _charter_response(v, BIG, done={}),
        ),
        Page(
            "audit trail",
            f"/charters/{name}/audit",
            "The ledger verifies",
            lambda v: render(
                "audit.html", visitor=v, page=subpages.audit_page(ws, BIG, {}), params={}
            ),
        ),
        Page(
            "pipeline",
            f"/charters/{name}/pipeline",
            "Rows per day",
            lambda v: render("pipeline.html", visitor=v, page=subpages.pipeline_page(ws, BIG)),
        ),
        Page("versions", f"/charters/{name}/versions", "Version", versions),
        Page(
            "drift details",
            f"/charters/{name}/drift",
            'data-testid="drift-details"',
            lambda v: render("drift.html", visitor=v, page=subpages.drift_page(ws, BIG)),
        ),
        Page(
            "drift histogram (x0, latest window)",
            histogram,
            "against the reference",
            lambda v: render(
                "histogram.html",
                visitor=v,
                page=subpages.histogram_page(ws, BIG, "1", start.isoformat(), "x0"),
            ),
        ),
    ]


def sign_in(client: TestClient, token: str) -> None:
    form = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, "no CSRF token on the sign-in form"
    answer = client.post(
        "/login",
        data={"token": token, "csrf_token": found.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def measure(client: TestClient, found: list[Page], runs: int) -> None:
    for page in found:  # one warm-up each: templates compiled, caches filled
        page.fetch(client)
    for round_ in range(runs):
        shift = round_ % len(found)
        for page in found[shift:] + found[:shift]:
            page.seconds.append(page.fetch(client))


def profile(visitor: Visitor, page: Page, lines: int = 25) -> str:
    """cProfile of what ``page``'s route runs, in this thread (the test client serves requests
    in another): the functions with the most cumulative time, charter's and the libraries'."""
    profiler = cProfile.Profile()
    profiler.runcall(page.direct, visitor)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    text = out.getvalue()
    keep = text[text.find("ncalls") :] if "ncalls" in text else text
    short = keep.replace(str(_env.ROOT) + "/", "").replace(sys.prefix + "/", "")
    return "\n".join(line.rstrip() for line in short.splitlines() if line.strip())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def report(
    built: Built,
    found: list[Page],
    args: argparse.Namespace,
    started: str,
    loads: tuple[float, float],
    profiles: dict[str, str],
) -> str:
    big = built.big
    command = (
        f"python -m benchmarks.dashboard --runs {args.runs} --charters {args.charters} "
        f"--days {args.days} --inputs {args.inputs} --rows-per-day {args.rows_per_day}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        f"\n## Dashboard pages with history — {started}\n",
        f"Machine: {_env.machine()}. Packages: {_env.versions(PACKAGES)}. SQLite store. Load "
        f"average (1 min) at start {loads[0]:.1f}, at end {loads[1]:.1f}"
        + (f"; {args.note}" if args.note else "")
        + f". Peak RSS {peak:.0f} MiB.",
        f"Data: {args.charters} charters (seed {SEED}). `{BIG}`: {big.inputs} inputs "
        f"({len(big.numeric)} numeric, {len(big.categorical)} categorical), {big.files} daily "
        f"files of {big.rows_per_file} rows ingested, labelled and monitored in 1-day windows, "
        f"a live and a shadow version: {built.windows} stored windows, {built.drift_cells:,} "
        f"drift values (input × window) for the live version. {args.charters - 1} `fleet-NN`: 5 "
        "inputs, 12 weekly files of 300 rows, 7-day windows, one live version. Built through "
        f"charter's own ingest, labels and monitor in {built.seconds:.0f} s.",
        f"Command: `{command}`. Each page requested in-process through the ASGI app "
        "(Starlette `TestClient`, signed in as the owner by session cookie), "
        f"{args.runs} times after one warm-up, pages interleaved; time = the request's wall time "
        "in-process (server work plus in-process transport): an upper bound of server time.",
        "",
        "| page | path | HTML KiB | median ms | min ms | target ms | within target (median) |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for p in found:
        median = statistics.median(p.seconds)
        ok = "yes" if median * 1000 < TARGET_MS else "**no**"
        lines.append(
            f"| {p.label} | `{p.path.split('?')[0]}` | {p.size / 1024:,.0f} | {_ms(median)} "
            f"| {_ms(min(p.seconds))} | {TARGET_MS:.0f} | {ok} |"
        )
    over = [p.label for p in found if statistics.median(p.seconds) * 1000 >= TARGET_MS]
    lines += [
        "",
        "Headline: "
        + (
            f"every page within {TARGET_MS:.0f} ms (median)."
            if not over
            else f"over {TARGET_MS:.0f} ms (median): {', '.join(over)}."
        )
        + " Medians: "
        + ", ".join(f"{p.label} {_ms(statistics.median(p.seconds))} ms" for p in found)
        + ".",
    ]
    for label, text in profiles.items():
        lines += [
            "",
            f"Profile of one request of {label} (cProfile, cumulative):",
            "",
            "```",
            text,
            "```",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--charters", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--inputs", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=200)
    parser.add_argument("--note", default="", help="a remark on the machine for RESULTS.md")
    parser.add_argument("--no-profile", action="store_true", help="do not profile slow pages")
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    if args.charters < 1 or args.days < 2 or args.inputs < 3:
        parser.error("need --charters >= 1, --days >= 2 and --inputs >= 3")
    started, load_start = _env.stamp(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        built = build(Path(tmp), args)
        print(f"built in {built.seconds:.0f} s", flush=True)
        token = create_token(built.ws, OWNER, "owner")[0]
        found = pages(built)
        with TestClient(create_app(built.ws), raise_server_exceptions=True) as client:
            sign_in(client, token)
            measure(client, found, args.runs)
            slow: list[Page] = []
            if not args.no_profile:
                slow = [p for p in found if statistics.median(p.seconds) * 1000 >= TARGET_MS]
        info = authenticate(built.ws, token)
        visitor = Visitor(Caller(info, built.ws.acting_as(info.identity)), None, "")
        profiles = {p.label: profile(visitor, p) for p in slow}
        built.ws.close()
    text = report(built, found, args, started, (load_start, os.getloadavg()[0]), profiles)
    print(text)
    if not args.no_write:
        with RESULTS.open("a") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
