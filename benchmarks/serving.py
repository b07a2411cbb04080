"""Online prediction: ``charter serve`` against ``mlflow models serve`` and a bare FastAPI floor.

Run: ``python -m benchmarks.serving [--sequential 200] [--concurrent 2000] [--batches 20]
[--rounds 3]`` from the repository root. One scikit-learn pipeline (scaler + one-hot encoder +
logistic regression, trained on a fixed seed) is served three ways on loopback, one process each:

- **charter**: ``charter serve`` over a workspace whose live version calls the pipeline; each
  answer includes contract validation, the durable prediction log (group commit, Parquet + SQLite)
  and the ledger entry;
- **mlflow**: ``mlflow models serve --env-manager local`` on the same pipeline saved with
  ``mlflow.sklearn`` (``dataframe_records`` requests);
- **floor**: a bare FastAPI endpoint (uvicorn) that turns the JSON into a DataFrame and calls
  ``predict_proba``: what serving the model over HTTP costs with nothing else.

Workloads: single-record requests one after another (latency), single-record requests from 16
concurrent clients (throughput and latency), and 1,000-record requests (rows/s). The contenders
alternate within each round; the answers are checked to agree before anything is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import _env

RESULTS = Path(__file__).with_name("RESULTS.md")
PEERS = ["mlflow-skinny>=2.10", "fastapi>=0.110", "uvicorn>=0.30", "httpx>=0.27"]
PACKAGES = ("charter-ml", "mlflow-skinny", "scikit-learn", "fastapi", "uvicorn", "httpx")
NAME = "credit-default"
CLIENTS = 16
SEED = 7

MODEL = """import pathlib

import joblib

_PIPELINE = joblib.load(pathlib.Path(__file__).with_name("pipeline.joblib"))


def score(frame):
    table = frame.select(["amount", "channel"]).to_pandas()
    return _PIPELINE.predict_proba(table)[:, 1]
"""

FLOOR = """import pathlib

import joblib
import pandas as pd
from fastapi import FastAPI, Request

_PIPELINE = joblib.load(pathlib.Path(__file__).with_name("pipeline.joblib"))
app = FastAPI()


@app.post("/predict")
async def predict(request: Request):
    body = await request.json()
    records = body if isinstance(body, list) else [body]
    scores = _PIPELINE.predict_proba(pd.DataFrame.from_records(records))[:, 1]
    answers = [{"score": float(s)} for s in scores]
    return answers if isinstance(body, list) else answers[0]
"""


def _train(folder: Path) -> None:
    import joblib
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 50.0, 5000),
            "channel": rng.choice(["web", "branch", "phone"], 5000),
        }
    )
    target = (frame["amount"] + rng.normal(0, 40, 5000) > 110).astype(int)
    columns = ColumnTransformer(
        [("amount", StandardScaler(), ["amount"]), ("channel", OneHotEncoder(), ["channel"])]
    )
    pipeline = Pipeline([("columns", columns), ("model", LogisticRegression())]).fit(frame, target)
    joblib.dump(pipeline, folder / "pipeline.joblib")
    mlflow.sklearn.save_model(pipeline, str(folder / "mlflow-model"))


def _workspace(folder: Path) -> tuple[Path, str]:
    from charter.registry.versions import register_version, set_status
    from charter.settings import Settings
    from charter.spec.scaffold import write_scaffold
    from charter.tokens import create_token
    from charter.workspace import Workspace

    root = folder / "ws"
    write_scaffold(root / "charters", NAME, owner_name="Bench", owner_email="bench@example.com")
    (root / "bench_model.py").write_text(MODEL)
    (root / "pipeline.joblib").write_bytes((folder / "pipeline.joblib").read_bytes())
    sys.path.insert(0, str(root))
    ws = Workspace(root, settings=Settings())
    info = register_version(ws, NAME, "bench_model:score")
    with ws.db.session() as session:
        set_status(ws, session, NAME, info.version, "live", reason="benchmark")
    token, _ = create_token(ws, "bench@example.com", "operator")
    ws.close()
    return root, token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Contender:
    """One server, how to call it, and what each workload measured."""

    label: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    path: str
    headers: dict[str, str]
    wrap: Callable[[list[dict[str, Any]], bool], Any]  # records, many -> the request body
    scores: Callable[[Any], list[float]]  # the response body -> the scores
    fields: tuple[str, ...]  # which record fields this server is sent
    port: int = field(default_factory=_free_port)
    measured: dict[str, list[float]] = field(default_factory=dict)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        base = f"http://127.0.0.1:{self.port}"
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=log, stderr=log)
            try:
                _wait(process, base, log)
                yield base
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait(process: subprocess.Popen[bytes], base: str, log: Any) -> None:
    import httpx

    for _ in range(1200):
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{process.args} exited:\n{log.read().decode()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            httpx.get(base + "/", timeout=1)
            return
        time.sleep(0.1)
    raise SystemExit(f"{process.args} did not answer")


class Records:
    """Records with a fresh key each (charter refuses a key it has already logged)."""

    def __init__(self) -> None:
        import numpy as np

        self.rng = np.random.default_rng(SEED)
        self.count = 0

    def take(self, n: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            self.count += 1
            out.append(
                {
                    "id": f"r{self.count}",
                    "event_at": "2026-12-01T10:00:00+00:00",
                    "amount": round(float(self.rng.gamma(2.0, 50.0)), 2),
                    "channel": ("web", "branch", "phone")[self.count % 3],
                }
            )
        return out


async def _calls(
    contender: Contender, base: str, bodies: list[Any], clients: int
) -> tuple[float, list[float]]:
    """Send ``bodies`` from ``clients`` concurrent clients; wall seconds and each latency."""
    import httpx

    latencies: list[float] = []
    queue = iter(bodies)
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                response = await client.post(contender.path, json=body, headers=contender.headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{contender.label}: {response.status_code} {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def _bodies(contender: Contender, records: Records, n: int, size: int) -> list[Any]:
    out = []
    for _ in range(n):
        chosen = [{k: r[k] for k in contender.fields} for r in records.take(size)]
        out.append(contender.wrap(chosen, size > 1))
    return out


def _check_agreement(contenders: list[Contender], bases: dict[str, str]) -> None:
    import httpx

    sample = Records().take(50)
    for r in sample:
        r["id"] = "check-" + r["id"]
    answers = {}
    for c in contenders:
        body = c.wrap([{k: r[k] for k in c.fields} for r in sample], True)
        response = httpx.post(bases[c.label] + c.path, json=body, headers=c.headers, timeout=60)
        response.raise_for_status()
        answers[c.label] = c.scores(response.json())
    first = answers[contenders[0].label]
    for label, got in answers.items():
        worst = max(abs(a - b) for a, b in zip(first, got, strict=True))
        if worst > 1e-9:
            raise SystemExit(f"{label} disagrees with {contenders[0].label} by {worst}")


def _contenders(folder: Path, workspace: Path, token: str) -> list[Contender]:
    python = sys.executable
    bin_dir = str(Path(python).parent)
    src = str(_env.ROOT / "src")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    charter_env = {k: v for k, v in env.items() if not k.startswith("CHARTER_")}
    charter_env["PYTHONPATH"] = f"{workspace}:{src}"
    (folder / "floor_app.py").write_text(FLOOR)
    minimal = ("amount", "channel")
    model = str(folder / "mlflow-model")
    mlflow_serve = [python, "-m", "mlflow", "models", "serve", "-m", model, "--env-manager"]
    mlflow_serve += ["local", "-h", "127.0.0.1", "-p", "{port}"]
    return [
        Contender(
            "charter",
            [python, "-m", "charter.cli.main", "-w", str(workspace), "serve", "--port", "{port}"],
            folder,
            charter_env,
            f"/v1/charters/{NAME}/predict",
            {"Authorization": f"Bearer {token}"},
            lambda records, many: records if many else records[0],
            lambda body: [p["score"] for p in body["predictions"]],
            ("id", "event_at", "amount", "channel"),
        ),
        Contender(
            "mlflow",
            mlflow_serve,
            folder,
            env,
            "/invocations",
            {},
            lambda records, many: {"dataframe_records": records},
            lambda body: [float(p) for p in _mlflow_scores(body)],
            minimal,
        ),
        Contender(
            "floor",
            [python, "-m", "uvicorn", "floor_app:app", "--host", "127.0.0.1", "--port", "{port}"],
            folder,
            {**env, "PYTHONPATH": str(folder)},
            "/predict",
            {},
            lambda records, many: records if many else records[0],
            lambda body: [p["score"] for p in body],
            minimal,
        ),
    ]


def _mlflow_scores(body: dict[str, Any]) -> list[float]:
    predictions = body["predictions"]  # predict() of a classifier: the class, not the score
    return [p[1] if isinstance(p, list) else p for p in predictions]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    _env.reexec_in_venv("benchmarks.serving", PEERS)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequential", type=int, default=200, help="single requests, one client")
    parser.add_argument("--concurrent", type=int, default=2000, help="single requests, 16 clients")
    parser.add_argument("--batches", type=int, default=20, help="1,000-record requests")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    started, load = _env.stamp(), os.getloadavg()[0]

    folder = Path(tempfile.mkdtemp(prefix="charter-bench-serving-"))
    _train(folder)
    workspace, token = _workspace(folder)
    contenders = _contenders(folder, workspace, token)
    records = Records()
    with contextlib.ExitStack() as stack:
        bases = {c.label: stack.enter_context(c.running()) for c in contenders}
        _check_agreement([c for c in contenders if c.label != "mlflow"], bases)
        for round_ in range(args.rounds):
            order = contenders[round_ % 3 :] + contenders[: round_ % 3]
            for c in order:
                base = bases[c.label]
                wall, lat = asyncio.run(_calls(c, base, _bodies(c, records, args.sequential, 1), 1))
                c.measured.setdefault("seq_p50", []).append(_percentile(lat, 0.5))
                c.measured.setdefault("seq_p99", []).append(_percentile(lat, 0.99))
                wall, lat = asyncio.run(
                    _calls(c, base, _bodies(c, records, args.concurrent, 1), CLIENTS)
                )
                c.measured.setdefault("conc_rps", []).append(args.concurrent / wall)
                c.measured.setdefault("conc_p99", []).append(_percentile(lat, 0.99))
                wall, _ = asyncio.run(_calls(c, base, _bodies(c, records, args.batches, 1000), 1))
                c.measured.setdefault("batch_rows", []).append(args.batches * 1000 / wall)
    _report(contenders, args, started, load)


def _report(
    contenders: list[Contender], args: argparse.Namespace, started: str, load: float
) -> None:
    by = {c.label: c.measured for c in contenders}

    def best(label: str, key: str, high: bool) -> float:
        values = by[label][key]
        return max(values) if high else min(values)

    def med(label: str, key: str) -> float:
        return statistics.median(by[label][key])

    rows = [
        "| server | sequential p50 ms (min / median) | sequential p99 ms | 16 clients req/s "
        "(max / median) | 16 clients p99 ms | 1,000-record requests rows/s (max / median) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in contenders:
        label = c.label
        rows.append(
            f"| {label} | {best(label, 'seq_p50', False) * 1e3:.2f} / {med(label, 'seq_p50') * 1e3:.2f} "
            f"| {med(label, 'seq_p99') * 1e3:.2f} "
            f"| {best(label, 'conc_rps', True):.0f} / {med(label, 'conc_rps'):.0f} "
            f"| {med(label, 'conc_p99') * 1e3:.1f} "
            f"| {best(label, 'batch_rows', True):.0f} / {med(label, 'batch_rows'):.0f} |"
        )
    ratio = [
        f"Headline: charter / mlflow throughput (16 clients, medians): "
        f"{med('charter', 'conc_rps') / med('mlflow', 'conc_rps'):.2f}x; "
        f"charter / floor: {med('charter', 'conc_rps') / med('floor', 'conc_rps'):.2f}x; "
        f"p99 charter {med('charter', 'conc_p99') * 1e3:.1f} ms vs mlflow "
        f"{med('mlflow', 'conc_p99') * 1e3:.1f} ms; 1,000-record rows/s charter / mlflow "
        f"{med('charter', 'batch_rows') / med('mlflow', 'batch_rows'):.2f}x."
    ]
    text = "\n".join(
        [
            f"## Online prediction — {started}",
            "",
            f"Machine: {_env.machine()}. Packages: {_env.versions(PACKAGES)}. Load average (1 min) "
            f"at start: {load:.1f}.",
            f"Command: `python -m benchmarks.serving --sequential {args.sequential} --concurrent "
            f"{args.concurrent} --batches {args.batches} --rounds {args.rounds}`. One scikit-learn "
            "pipeline (scaler + one-hot + logistic regression), one server process each, loopback; "
            "charter's answers include contract validation and the durable log. The scores of "
            "charter and the floor were checked to agree (1e-9) first; mlflow's `predict` answers "
            "the class, not the probability, so it was not compared.",
            "",
            *rows,
            "",
            *ratio,
            "",
        ]
    )
    print(text)
    if not args.no_write:
        with RESULTS.open("a") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
