"""Regenerate docs/cli.md (from --help), docs/charter-file.md and docs/results.md (from the
pydantic models of the charter file and of the results).

Run ``python scripts/gen_docs.py``; tests/test_docs.py fails when the committed files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from charter.docs_gen import charter_file_reference, cli_reference, results_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> int:
    (DOCS / "cli.md").write_text(cli_reference())
    (DOCS / "charter-file.md").write_text(charter_file_reference())
    (DOCS / "results.md").write_text(results_reference())
    print("wrote docs/cli.md, docs/charter-file.md and docs/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
