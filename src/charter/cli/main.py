"""Entry point: runs the Typer app and turns every error into a message and an exit code.

Exit codes: 0 success; 1 a charter error (bad input, failed check, failed verification);
2 a usage error (unknown option, missing argument); 3 the store is unreachable;
4 a tampered artifact or state changed behind charter's back; 5 ran, but needs attention
(quarantined rows, a failed file or version: see :mod:`charter.attention`); 130 interrupted.
Tracebacks appear only with ``--debug`` or ``CHARTER_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Mapping

import typer

from charter.cli import (  # noqa: F401 - registers commands
    alerts,
    audit,
    charters,
    contracts,
    demo,
    evidence,
    governance,
    ingest,
    labels,
    lake,
    lifecycle,
    monitor,
    oversight,
    quarantine,
    registry,
    serve,
    tokens,
)
from charter.cli import run as run_commands  # noqa: F401 - registers run, retrain (main.run is the entry point)
from charter.cli.app import app
from charter.errors import CharterError


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    debug = "--debug" in args or os.environ.get("CHARTER_DEBUG", "") not in ("", "0")
    try:
        code = app(args=args, prog_name="charter", standalone_mode=False)
    except CharterError as exc:
        return _fail(exc, exc.exit_code, as_json, debug, exc.to_dict())
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return 130
    except Exception as exc:
        if not _is_usage_error(exc):  # an unexpected failure: still one paragraph unless --debug
            from charter.redaction import redact_text

            message = redact_text(f"unexpected error: {exc}")  # may quote a URL with a password
            body = {"type": type(exc).__name__, "message": message}
            return _fail(exc, 1, as_json, debug, body, unexpected=True)
        if as_json:
            _json_error({"type": "UsageError", "message": exc.format_message()})  # type: ignore[attr-defined]
        else:
            exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    return code if isinstance(code, int) else 0


def _is_usage_error(exc: Exception) -> bool:
    """Click's usage errors (Typer vendors its own Click, so match by shape, not class)."""
    return all(hasattr(exc, name) for name in ("format_message", "show", "exit_code"))


def _fail(
    exc: BaseException,
    code: int,
    as_json: bool,
    debug: bool,
    body: Mapping[str, object],
    *,
    unexpected: bool = False,
) -> int:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if as_json:
        _json_error(body)
    else:
        sys.stderr.write(f"error: {body['message']}\n")
        hint = body.get("hint")
        if hint:
            sys.stderr.write(f"{hint}\n")
        if unexpected and not debug:
            sys.stderr.write(
                "This is a bug in charter; run again with --debug for the traceback.\n"
            )
    return code


def _json_error(body: Mapping[str, object]) -> None:
    sys.stdout.write(json.dumps({"error": body}, indent=2, default=str) + "\n")


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
