"""Rows written before bindings existed, checked against what the ledger recorded of them then.

A store written by an older charter has versions and pre-authorisations with no binding. They are
not refused for that: their state is *derived* from the ledger entries that recorded each write
(``version.registered`` names the status, hash, flavor and location; ``version.status_changed``
each later status; ``promotion.authorized`` and ``promotion.authorization_revoked`` who granted
what, and what was revoked), and the row must match it. The first write through this charter
binds the row as usual.

Each function takes the charter's entries of the binding's actions, oldest first, as
``(action, payload)`` and returns the expected *view* of every row it knows, by canonical key;
each ``*_view`` gives the same view of a row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

Entries = Sequence[tuple[str, dict[str, Any]]]


def _key(**parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def versions(entries: Entries) -> dict[str, dict[str, Any]]:
    expected: dict[str, dict[str, Any]] = {}
    for action, payload in entries:
        key = _key(charter=payload.get("__charter__"), version=payload.get("version"))
        if action == "version.registered":
            expected[key] = {
                "status": payload.get("status"),
                "sha256": payload.get("sha256"),
                "flavor": payload.get("flavor"),
                "artifact_uri": payload.get("artifact_uri"),
            }
        elif action == "version.status_changed" and key in expected:
            expected[key]["status"] = payload.get("to")
    return expected


def version_view(row: Any) -> dict[str, Any]:
    return {
        "status": row.status,
        "sha256": row.sha256,
        "flavor": row.flavor,
        "artifact_uri": row.artifact_uri,
    }


def authorizations(entries: Entries) -> dict[str, dict[str, Any]]:
    expected: dict[str, dict[str, Any]] = {}
    for action, payload in entries:
        charter = payload.get("__charter__")
        if action == "promotion.authorized":
            for view in expected.values():  # a new grant superseded every earlier one
                view["revoked"] = True
            expected[_key(charter=charter, id=payload.get("authorization_id"))] = {
                "granted_by": payload.get("by"),
                "terms_sha256": payload.get("terms_sha256"),
                "revoked": False,
            }
        elif action == "promotion.authorization_revoked":
            for ident in payload.get("authorization_ids") or []:
                revoked = expected.get(_key(charter=charter, id=ident))
                if revoked is not None:
                    revoked["revoked"] = True
    return expected


def authorization_view(row: Any) -> dict[str, Any]:
    return {
        "granted_by": row.granted_by,
        "terms_sha256": row.terms_sha256,
        "revoked": row.revoked_at is not None,
    }


def terms(entries: Entries) -> dict[str, dict[str, Any]]:
    """The accepted terms of a charter: the sha256 its newest terms entry names.

    ``charter.terms_accepted`` (each acceptance), ``charter.created`` and ``charter.changed``
    (what the registry recorded as the terms in force) all carry the text's ``sha256``.
    """
    expected: dict[str, dict[str, Any]] = {}
    for _, payload in entries:
        if payload.get("sha256"):
            expected[_key(charter=payload.get("__charter__"))] = {"sha256": payload["sha256"]}
    return expected


def terms_view(row: Any) -> dict[str, Any]:
    """The row's sha256, when its text still has it (else the text was changed alone)."""
    intact = hashlib.sha256(str(row.content).encode()).hexdigest() == row.sha256
    return {"sha256": row.sha256 if intact else "(the text does not match its sha256)"}
