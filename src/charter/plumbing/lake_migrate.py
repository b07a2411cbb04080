"""Moving a workspace's logs into another lake (``charter lake migrate --to URL``).

Every file a committed batch names (the prediction log, the quarantine and its replay maps, the
label log and its quarantine) is copied under the same key, so the database needs no change:
once every machine sets ``CHARTER_LAKE`` to the new lake, the same records name the same files
there. Files no batch committed are left behind (they never counted).

Safe to stop and re-run: a file is copied whole or not at all (one object; in a folder, a
temporary file renamed into place), a key the new lake already holds at the same size is not
copied again, and a source file is deleted (``--delete-source``) only once its copy is in place.
A run that copied or deleted anything records it in the audit ledger (``lake.migrated``: from,
to, how many files and bytes), in the same database every machine reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charter.errors import CharterError
from charter.plumbing.lake import SPOOL_DIR, lake_for, open_lake
from charter.plumbing.lake_cleanup import committed_keys
from charter.schemas import data as schemas
from charter.workspace import Workspace

__all__ = ["LakeMigration", "migrate"]

_SHOWN_MISSING = 5


@dataclass
class LakeMigration:
    """What one run of the migration did, file by file counted."""

    source: str
    target: str
    files: int = 0
    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0
    deleted_from_source: int = 0
    missing: list[str] = field(default_factory=list)

    def to_schema(self) -> schemas.LakeMigration:
        return schemas.LakeMigration(
            source=self.source,
            target=self.target,
            files=self.files,
            copied=self.copied,
            already_there=self.already_there,
            bytes_copied=self.bytes_copied,
            deleted_from_source=self.deleted_from_source,
            missing=self.missing,
        )

    def to_dict(self) -> dict[str, object]:
        return self.to_schema().to_json_dict()


def migrate(ws: Workspace, to: str, *, delete_source: bool = False) -> LakeMigration:
    """Copy every committed log file of this workspace's (local) lake into the lake at ``to``.

    Raises :class:`CharterError` when ``to`` is this lake, when the current lake is not a local
    folder, or (after copying what it could) when committed files are in neither lake.
    """
    source = lake_for(ws)
    url = to if "://" in to else str(ws.resolve(to))
    target = open_lake(url, ws.state_dir / SPOOL_DIR)
    if not source.local:
        raise CharterError(
            f"the lake of this workspace is {source.shown}, not a folder: migrate moves a "
            "workspace's local logs into a lake",
            hint="Unset CHARTER_LAKE to migrate the logs kept in .charter/.",
        )
    if target.local and target.local_path("x").resolve() == source.local_path("x").resolve():
        raise CharterError(f"{target.shown} is already this workspace's lake; nothing to move")
    report = LakeMigration(source.shown, target.shown)
    with ws.db.read() as session:
        keys = committed_keys(session)
    report.files = len(keys)
    for key in keys:
        size = source.size(key)
        there = target.size(key)
        if size is None:
            if there is None:
                report.missing.append(key)
            else:
                report.already_there += 1
            continue
        if there == size:
            report.already_there += 1
        else:
            target.put(source.local_path(key), key)
            if target.size(key) != size:
                raise CharterError(
                    f"the copy of {key} in {target.shown} is not {size} bytes; nothing of it "
                    "was deleted here",
                    hint="Run `charter lake migrate` again; it copies what is not in place.",
                )
            report.copied += 1
            report.bytes_copied += size
        if delete_source:
            source.remove(key)
            report.deleted_from_source += 1
    _record(ws, report)
    if report.missing:
        shown = ", ".join(report.missing[:_SHOWN_MISSING])
        more = len(report.missing) - _SHOWN_MISSING
        raise CharterError(
            f"{len(report.missing)} committed files are in neither {source.shown} nor "
            f"{target.shown}: {shown}" + (f" and {more} more" if more > 0 else ""),
            hint="Restore them from a backup of .charter/ and run the migration again; "
            f"the other {report.files - len(report.missing)} files are in the new lake.",
        )
    return report


def _record(ws: Workspace, report: LakeMigration) -> None:
    if not report.copied and not report.deleted_from_source:
        return  # a re-run that found everything in place moved nothing
    payload = {
        "from": report.source,
        "to": report.target,
        "files": report.files,
        "copied": report.copied,
        "bytes_copied": report.bytes_copied,
        "already_there": report.already_there,
        "deleted_from_source": report.deleted_from_source,
    }
    with ws.db.session() as session:
        ws.ledger.append(session, "lake.migrated", payload, actor=ws.context.who)
