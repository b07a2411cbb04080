"""``charter serve`` on an S3 lake: online batches, their shadow scores and refused records are
logged in the bucket, traced by ``GET /v1/predictions/{id}``, and read from another workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.lake.conftest import s3_keys
from tests.server.conftest import NAME, Api, record

from charter.plumbing.predictions import read_predictions, read_quarantine
from charter.settings import Settings
from charter.workspace import Workspace

PREDICT = f"/v1/charters/{NAME}/predict"


@pytest.fixture
def on_s3(ws: Workspace, s3_lake: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CHARTER_LAKE", s3_lake)
    ws.settings = Settings()
    return s3_lake


@pytest.fixture
def lake_api(on_s3: str, api: Api) -> Iterator[Api]:
    yield api


def test_online_answers_are_logged_in_the_bucket_and_traced_from_there(
    lake_api: Api, on_s3: str, tmp_path: Path
) -> None:
    api = lake_api
    live = api.register("return frame['amount'] / 100", "live")
    shadow = api.register("return frame['amount'] / 200", "shadow")
    answer = api.post(PREDICT, json=record(8))
    assert answer.status_code == 200, answer.text
    refused = api.post(PREDICT, json=[record(9), record(10, amount=-5.0)])
    assert refused.status_code == 422
    api.drain()

    traced = api.get(f"/v1/predictions/{answer.json()['prediction_id']}")
    assert traced.status_code == 200, traced.text
    assert {(s["version"], s["score"]) for s in traced.json()["scores"]} == {
        (str(live), 0.08),
        (str(shadow), 0.04),
    }
    keys = s3_keys(on_s3)
    assert sum(k.startswith(f"predictions/{NAME}/") for k in keys) == 4  # 2 batches + 2 shadows
    assert sum(k.startswith(f"quarantine/{NAME}/") for k in keys) == 1
    assert not (api.ws.state_dir / "predictions").exists()

    other = Workspace(tmp_path / "elsewhere", settings=Settings())  # another machine, same env
    try:
        logged = read_predictions(other, NAME).collect()
        assert sorted(zip(logged["key"], logged["model_version"], strict=True)) == [
            ("r8", str(live)),
            ("r8", str(shadow)),
            ("r9", str(live)),
            ("r9", str(shadow)),
        ]
        assert read_quarantine(other, NAME).collect()["id"].to_list() == ["r10"]
    finally:
        other.close()
