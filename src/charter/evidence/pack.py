"""``charter evidence pack``: what an auditor asks for about one charter, in one archive.

The pack is built from the ledger excerpt up to a signed head (the latest, or the last one signed
at or before ``as_of``), the charter texts the store keeps by SHA-256, and the prediction-log files
the excerpt names. Nothing in it depends on when or where it was written, so the same store gives
the same bytes. Its files::

    manifest.json                  every other file's SHA-256 and size, the ledger head and key
    signature.json                 the manifest's signature with the audit key (HMAC or Ed25519)
    index.html                     the whole pack, readable offline
    crosswalk.json                 clause → records → met / gaps
    ledger/entries.jsonl           the chain from entry 1 to the head, as hashed
    ledger/checkpoints.jsonl       the signed checkpoints up to the head
    charter/terms-in-force.yaml    the text in force at the head (secrets as references)
    records/*.json                 the sections, each record naming its ledger entry
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charter.audit.excerpt import Excerpt, head_at, read_excerpt
from charter.audit.keys import ROTATED
from charter.errors import AuditKeyError, EvidenceError
from charter.evidence import records
from charter.evidence.archive import json_bytes, write_zip
from charter.evidence.coverage import coverage
from charter.evidence.crosswalk import FRAMEWORKS, crosswalk
from charter.evidence.html import render_index
from charter.evidence.point_in_time import entries_of, stored_texts
from charter.evidence.records import Entry
from charter.evidence.terms import terms_at
from charter.identity import check_charter_name
from charter.plumbing.lake import lake_for
from charter.schemas import evidence as schemas
from charter.spec.model import Charter
from charter.store import ledger
from charter.workspace import Workspace

FORMAT = "charter-evidence-pack"
FORMAT_VERSION = 1
SIGNED_PREFIX = "charter-evidence-pack|"


def frameworks_of(choice: str) -> tuple[str, ...]:
    """``eu-ai-act``, ``iso-42001``, ``sr-26-2`` or ``all``."""
    if choice == "all":
        return FRAMEWORKS
    if choice not in FRAMEWORKS:
        raise EvidenceError(
            f"--framework {choice!r} is not a framework; use one of {', '.join(FRAMEWORKS)} or all"
        )
    return (choice,)


def manifest_message(manifest: bytes) -> str:
    """What the pack's signature signs: the manifest's SHA-256, apart from ledger checkpoints."""
    return SIGNED_PREFIX + hashlib.sha256(manifest).hexdigest()


@dataclass(frozen=True)
class _Read:
    excerpt: Excerpt
    texts: dict[str, str]
    changes: list[dict[str, Any]]
    purged_later: set[str]
    public_keys: dict[str, str]


def write_pack(
    ws: Workspace,
    name: str,
    output: Path,
    *,
    as_of: datetime | None = None,
    frameworks: Sequence[str] = FRAMEWORKS,
) -> schemas.EvidencePack:
    """Build the pack of ``name`` and write it to ``output``."""
    files, manifest = build_pack(ws, name, as_of=as_of, frameworks=tuple(frameworks))
    write_zip(output, files)
    rows = crosswalk_rows(files)
    return schemas.EvidencePack(
        file=str(output),
        charter=name,
        as_of=manifest["as_of"],
        frameworks=list(manifest["frameworks"]),
        head_seq=manifest["ledger"]["head_seq"],
        head_hash=manifest["ledger"]["head_hash"],
        signed_at=manifest["ledger"]["signed_at"],
        entries=manifest["ledger"]["entries"],
        files=len(files),
        sha256=hashlib.sha256(output.read_bytes()).hexdigest(),
        signed=bool(_signature_of(files).get("signature")),
        crosswalk=[
            schemas.PackClause(
                framework=r["framework"], clause=r["clause"], status=r["status"], gaps=r["gaps"]
            )
            for r in rows
        ],
    )


def crosswalk_rows(files: dict[str, bytes]) -> list[dict[str, Any]]:
    rows = json.loads(files["crosswalk.json"])
    return list(rows["clauses"])


def _signature_of(files: dict[str, bytes]) -> dict[str, Any]:
    value = json.loads(files["signature.json"])
    return value if isinstance(value, dict) else {}


def build_pack(
    ws: Workspace, name: str, *, as_of: datetime | None, frameworks: tuple[str, ...]
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The pack's files (name → bytes) and its manifest."""
    check_charter_name(name)
    if as_of is not None and (as_of.tzinfo is None or as_of.utcoffset() is None):
        as_of = as_of.replace(tzinfo=UTC)
    as_of = None if as_of is None else as_of.astimezone(UTC)
    read = _read(ws, name, as_of)
    head = read.excerpt.head
    if head is None:
        when = f" signed at or before {as_of.isoformat()}" if as_of else ""
        raise EvidenceError(f"the ledger has no entry{when}: there is nothing to put in a pack")
    entries = entries_of(read.excerpt, name)
    if not entries:
        raise EvidenceError(
            f"the ledger has no entry about charter {name!r} up to entry {head['seq']}",
            hint="Check the name (`charter status`), or an --as-of after the charter's first use.",
        )
    history = records.charter_history(entries)
    sha = records.terms_sha_at_head(history)
    found = terms_at(sha, read.texts, read.changes)
    charter, text = found.charter, found.text
    sections: dict[str, Any] = {
        "people": _people(charter),
        "charter_history": {
            **history,
            "terms_in_force_sha256": sha,
            "terms_in_force_found": found.how,
        },
        "sufficiency": _sufficiency(entries, charter),
        "data_contract": {
            "contract": None
            if charter is None
            else charter.data.model_dump(mode="json", exclude_none=True),
            **records.data_contract(entries),
        },
        "shadow_and_challenger": records.shadow_and_challenger(entries),
        "decisions": records.decisions(entries),
        "oversight": records.oversight(entries),
        "alerts": records.alerts(entries),
        "coverage": coverage(lake_for(ws), entries, charter, purged_later=read.purged_later),
        "retraining": records.retraining(entries),
    }
    key_id = str(head["key_id"])
    algorithm = "ed25519" if key_id.startswith("ed25519:") else "hmac"
    ledger_facts = {
        "head_seq": int(head["seq"]),
        "head_hash": str(head["head_hash"]),
        "signed_at": str(head["signed_at"]),
        "key_id": key_id,
        "algorithm": algorithm,
        "public_key": read.public_keys.get(key_id),
        "entries": len(read.excerpt.entries),
        "checkpoints": len(read.excerpt.checkpoints),
        "charter_entries": len(entries),
    }
    sections["manifest_ledger"] = ledger_facts
    clauses = crosswalk(sections, frameworks)
    del sections["manifest_ledger"]
    files: dict[str, bytes] = {
        f"records/{key.replace('_', '-')}.json": json_bytes(value)
        for key, value in sections.items()
    }
    files["crosswalk.json"] = json_bytes({"frameworks": list(frameworks), "clauses": clauses})
    files["ledger/entries.jsonl"] = _jsonl(read.excerpt.entries)
    files["ledger/checkpoints.jsonl"] = _jsonl(read.excerpt.checkpoints)
    if text is not None:
        files["charter/terms-in-force.yaml"] = text.encode()
    elif charter is not None:  # reconstructed: the fields, as JSON
        files["charter/terms-in-force.json"] = json_bytes(
            charter.model_dump(mode="json", exclude_none=True)
        )
    summary = {
        "charter": name,
        "as_of": None if as_of is None else as_of.isoformat(),
        "frameworks": list(frameworks),
        "ledger": ledger_facts,
    }
    files["index.html"] = render_index(summary, sections, clauses).encode()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **summary,
        "files": {
            n: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
            for n, b in sorted(files.items())
        },
    }
    files["manifest.json"] = json_bytes(manifest)
    files["signature.json"] = json_bytes(_sign(ws, files["manifest.json"]))
    return files, manifest


def _read(ws: Workspace, name: str, as_of: datetime | None) -> _Read:
    with ws.ledger.snapshot() as session:
        head = head_at(session, as_of)
        excerpt = read_excerpt(session, head)
        texts, changes = stored_texts(session, name)
        purges = ledger.payloads_of(session, name, "retention.purged")
        purged_later = {str(p) for text in purges for p in _json(text).get("files") or []}
        public = {}
        for text in ledger.payloads_of_action(session, ROTATED):
            retired = _json(text).get("retired") or {}
            if retired.get("public_key"):
                public[str(retired["key_id"])] = str(retired["public_key"])
    key = ws.ledger.key
    if key.algorithm == "ed25519":
        with contextlib.suppress(AuditKeyError):  # a key that cannot be read: none carried
            public[key.key_id()] = key.public_hex()
    return _Read(excerpt, texts, changes, purged_later, public)


def _json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(
        (json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n").encode() for r in rows
    )


def _people(charter: Charter | None) -> dict[str, Any]:
    if charter is None:
        return {
            "owner": None,
            "delegates": [],
            "stewards": [],
            "note": "the terms in force at the head are not kept by the store",
        }

    def who(p: Any) -> str:
        return f"{p.name} <{p.email}>" + (f", {p.role}" if getattr(p, "role", None) else "")

    return {
        "owner": who(charter.owner),
        "delegates": [who(p) for p in charter.delegates],
        "stewards": [who(p) for p in charter.stewards],
        "decision": charter.decision,
    }


def _sufficiency(entries: Sequence[Entry], charter: Charter | None) -> dict[str, Any]:
    verdicts = records.verdict_history(entries)
    contract = None if charter is None else charter.sufficiency.model_dump(mode="json")
    return {"contract": contract, "verdicts": verdicts, "counts": records.verdict_counts(verdicts)}


def _sign(ws: Workspace, manifest: bytes) -> dict[str, Any]:
    """The manifest signed with the audit key; a pack made where the key cannot sign (a
    verify-only Ed25519 machine) says so instead."""
    key = ws.ledger.key
    message = manifest_message(manifest)
    try:
        return {
            "algorithm": key.algorithm,
            "key_id": key.key_id(),
            "message": message,
            "signature": key.sign(message, create=False),
        }
    except AuditKeyError as exc:
        return {
            "algorithm": key.algorithm,
            "key_id": None,
            "message": message,
            "signature": None,
            "why": exc.message,
        }
