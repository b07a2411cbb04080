"""PartWriter puts a batch's parts in place without listing the charter's folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from charter.plumbing.lake import open_lake
from charter.plumbing.predictions import PartWriter

FRAME = pl.DataFrame({"x": [1, 2, 3]})


def test_what_a_crashed_attempt_left_is_replaced_and_the_folder_is_never_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = open_lake(str(tmp_path / "lake"), tmp_path / "spool")
    folder = tmp_path / "lake" / "predictions" / "c"
    folder.mkdir(parents=True)
    for n in range(3):  # an attempt killed after putting three parts in place
        (folder / f"b1.part-{n:05d}.parquet").write_bytes(b"stale")
    others = [folder / f"other{n}.parquet" for n in range(5)]  # other batches' files
    for path in others:
        path.write_bytes(b"kept")

    def listing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the folder was listed")

    writer = PartWriter(lake, "predictions/c", "b1")
    writer.write(FRAME)
    monkeypatch.setattr(Path, "glob", listing)
    monkeypatch.setattr(Path, "iterdir", listing)
    done = writer.finish()
    monkeypatch.undo()

    assert [key for key, _ in done] == ["predictions/c/b1.parquet"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["b1.parquet", *(p.name for p in others)]
    )
    assert pl.read_parquet(folder / "b1.parquet").equals(FRAME)
