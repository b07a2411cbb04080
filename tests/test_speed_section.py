"""scripts/speed_section.py: README's Speed section is each benchmark kind's latest headline."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "speed_section.py"


def speed_section() -> ModuleType:
    spec = importlib.util.spec_from_file_location("speed_section", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


RESULTS = """# Benchmark results

## Contract validation — 2026-11-24 19:22 UTC

Machine: 2 cores. Load average (1 min) at start 3.9, at end 5.7: the machine is shared.
Data: 5,000,000 rows × 10 columns.
Command: `python -m benchmarks.validation`

| tool | min s |
| --- | ---: |
| charter | 1.0 |

Headline (medians, peer / charter): Pandera Polars 2.09×.

## Key index | new — 2026-12-04 19:00 UTC

Data: 100 batches of 1,000,000 rows.
Headline: 12 MiB per batch (median).

## Contract validation — 2026-12-02 18:59 UTC

Headline (medians, peer / charter): Pandera Polars 1.89×.

## Drift report — 2026-11-24 22:00 UTC

Machine: 2 cores, no load recorded.

## scale: 1,000 rows, local engine (2026-12-04 03:25 UTC)

- machine: 2 cores; load average 8.4 at start, 6.3 at end; a full make test ran

## Drift report — 2026-11-24 22:00 UTC

Headline: Evidently 22.0× (medians); NannyML: 1.5×.
"""


def test_each_kind_gives_its_latest_headline_in_order() -> None:
    block = speed_section().render(RESULTS)
    items = [line for line in block.splitlines() if line.startswith("- ")]
    assert items == [
        "- **Contract validation** (2026-12-02 18:59 UTC; load average not recorded): "
        "medians, peer / charter: Pandera Polars 1.89×.",
        "- **Drift report** (2026-11-24 22:00 UTC; load average not recorded): "
        "Evidently 22.0× (medians); NannyML: 1.5×.",
        "- **Key index | new** (2026-12-04 19:00 UTC; load average not recorded): "
        "12 MiB per batch (median).",
        "- **scale: 1,000 rows, local engine** (2026-12-04 03:25 UTC; load average 8.4 at "
        "start, 6.3 at end): no `Headline` line in this run (see RESULTS.md).",
    ]
    assert "  Data: 100 batches of 1,000,000 rows." in block.splitlines()


def test_a_newer_section_lower_down_wins_and_its_conditions_come_with_it() -> None:
    later = RESULTS + (
        "\n## Contract validation — 2026-12-05 08:00 UTC\n\n"
        "Machine: 2 cores. Load average (1 min) at start: 7.1.\n"
        "Data: shuffled keys.\n"
        "Command: `python -m benchmarks.validation --rows 10`\n\n"
        "Headline (medians, peer / charter): Pandera Polars 1.52×.\n"
    )
    block = speed_section().render(later)
    assert (
        "- **Contract validation** (2026-12-05 08:00 UTC; load average (1 min) at start: 7.1): "
        "medians, peer / charter: Pandera Polars 1.52×." in block
    )
    assert "  Data: shuffled keys." in block
    assert "  Command: `python -m benchmarks.validation --rows 10`." in block
    assert "1.89×" not in block


def test_rewrite_touches_only_the_block_between_the_markers() -> None:
    script = speed_section()
    readme = f"# x\n\nbefore\n\n{script.BEGIN}\nold line\n{script.END}\n\nafter\n"
    out = script.rewrite(readme, RESULTS)
    assert out.startswith("# x\n\nbefore\n\n" + script.BEGIN)
    assert out.endswith(script.END + "\n\nafter\n")
    assert "old line" not in out and "Pandera Polars 1.89×" in out
    with pytest.raises(SystemExit):
        script.rewrite("# no markers\n", RESULTS)
