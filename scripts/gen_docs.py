"""Regenerate docs/cli.md (from --help) and docs/charter-file.md (from the pydantic models).

Run ``python scripts/gen_docs.py``; tests/test_docs.py fails when the committed files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from charter.docs_gen import charter_file_reference, cli_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> int:
    (DOCS / "cli.md").write_text(cli_reference())
    (DOCS / "charter-file.md").write_text(charter_file_reference())
    print("wrote docs/cli.md and docs/charter-file.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
