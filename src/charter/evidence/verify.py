"""``charter evidence verify``: check a pack from its bytes alone, without the database.

1. every file the manifest lists is there with its SHA-256, and nothing else is;
2. the manifest's signature (``signature.json``) with the audit key;
3. the ledger excerpt: each entry against its hash, each link, the head against its checkpoint,
   and the checkpoint's signature;
4. every record that names a ledger entry (``ledger: {seq, action, recorded_at, actor}``) names
   one the excerpt holds, as it is there.

Which key checks the signatures: ``--key-file`` (an HMAC key, or an Ed25519 public key, in hex);
without it, an Ed25519 pack is checked with the public key it carries (the report says so: a
replaced key would go unnoticed unless its id is compared with the one published), and an HMAC
pack's signatures cannot be checked at all; the rest (1, 3 without the signature, 4) still is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from charter.audit.excerpt import verify_excerpt
from charter.audit.signing import AuditKey
from charter.errors import AuditKeyError, EvidenceError
from charter.evidence.archive import read_zip
from charter.evidence.pack import manifest_message
from charter.schemas import evidence as schemas

Check = Callable[[str, str], bool]
_OWN = ("manifest.json", "signature.json")


def verify_pack(path: Path, *, key_file: Path | None = None) -> schemas.EvidenceVerify:
    files = read_zip(path)
    problems: list[schemas.PackProblem] = []

    def problem(file: str, text: str) -> None:
        problems.append(schemas.PackProblem(file=file, problem=text))

    manifest = _manifest(files, path)
    listed = manifest.get("files") or {}
    for name in sorted(set(files) - set(listed) - set(_OWN)):
        problem(name, f"{name} is in the pack but not in its manifest: it was added")
    for name, facts in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            problem(name, f"{name} is listed in the manifest but missing from the pack")
        elif hashlib.sha256(data).hexdigest() != facts.get("sha256"):
            problem(name, f"{name} was altered: its SHA-256 no longer matches the manifest")
    ledger = manifest.get("ledger") or {}
    check, note = _checker(ledger, key_file)
    manifest_signature = _manifest_signature(files, check, ledger, problem)
    entries = _jsonl(files.get("ledger/entries.jsonl", b""), "ledger/entries.jsonl", problem)
    checkpoints = _jsonl(
        files.get("ledger/checkpoints.jsonl", b""), "ledger/checkpoints.jsonl", problem
    )
    report = verify_excerpt(entries, checkpoints, check, key_note=note)
    if report.problem is not None:
        problem("ledger/entries.jsonl", report.problem)
    if report.head_seq != ledger.get("head_seq") or report.head_hash != ledger.get("head_hash"):
        problem("manifest.json", "the manifest names another ledger head than the excerpt's")
    by_seq = {int(e["seq"]): e for e in entries if "seq" in e}
    checked = 0
    for name in sorted(files):
        if not (name.startswith("records/") and name.endswith(".json")):
            continue
        try:
            body = json.loads(files[name])
        except ValueError:
            problem(name, f"{name} is not JSON")
            continue
        for ref in _refs(body):
            checked += 1
            entry = by_seq.get(int(ref.get("seq") or 0))
            if entry is None or any(
                str(entry.get(k)) != str(ref.get(k)) for k in ("action", "recorded_at", "actor")
            ):
                problem(
                    name,
                    f"{name} cites ledger entry {ref.get('seq')} ({ref.get('action')}), "
                    "which the excerpt does not hold as cited",
                )
                break
    return schemas.EvidenceVerify(
        ok=not problems,
        file=str(path),
        charter=manifest.get("charter"),
        as_of=manifest.get("as_of"),
        files_checked=len(listed),
        entries=report.entries,
        head_seq=report.head_seq,
        records_checked=checked,
        manifest_signature=manifest_signature,
        checkpoint_signature=report.signature,
        key_note=note,
        problems=problems,
    )


def _manifest(files: Mapping[str, bytes], path: Path) -> dict[str, Any]:
    raw = files.get("manifest.json")
    if raw is None:
        raise EvidenceError(f"{path} is not an evidence pack: it has no manifest.json")
    try:
        value = json.loads(raw)
    except ValueError:
        raise EvidenceError(
            f"{path}: manifest.json is not JSON: the manifest was altered"
        ) from None
    if not isinstance(value, dict) or value.get("format") != "charter-evidence-pack":
        raise EvidenceError(f"{path}: manifest.json is not the manifest of a charter evidence pack")
    return value


def _checker(ledger: Mapping[str, Any], key_file: Path | None) -> tuple[Check | None, str]:
    algorithm, key_id = ledger.get("algorithm"), str(ledger.get("key_id"))
    if key_file is not None:
        try:
            text = key_file.read_text().strip()
        except OSError as exc:
            raise EvidenceError(f"cannot read the key file {key_file}: {exc.strerror}") from exc
        if algorithm == "ed25519":
            key = AuditKey.from_public(text)
            return key.valid, f"the Ed25519 public key in {key_file} ({_id_of(key)})"
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise EvidenceError(f"the key file {key_file} does not hold a hex key") from None
        return _hmac(secret), f"the HMAC key in {key_file} (key id {_hmac_id(secret)})"
    if algorithm == "ed25519" and ledger.get("public_key"):
        key = AuditKey.from_public(str(ledger["public_key"]))
        return key.valid, (
            f"the Ed25519 public key carried in the pack ({key_id}); compare that id with the "
            "one your organisation published, or pass --key-file with the key you trust"
        )
    return None, (
        "not checked: the pack is signed with an HMAC key, which only its holder can check "
        "(pass --key-file); the files' hashes, the hash chain, the head against its checkpoint "
        "and every record's ledger citation were checked"
    )


def _id_of(key: AuditKey) -> str:
    try:
        return key.key_id()
    except AuditKeyError:
        return "unreadable key"


def _hmac(secret: bytes) -> Check:
    def check(message: str, signature: str) -> bool:
        expected = hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    return check


def _hmac_id(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:16]


def _manifest_signature(
    files: Mapping[str, bytes],
    check: Check | None,
    ledger: Mapping[str, Any],
    problem: Callable[[str, str], None],
) -> str:
    if "signature.json" not in files:
        problem("signature.json", "signature.json is missing from the pack: it was removed")
        return "invalid"
    try:
        signed = json.loads(files["signature.json"])
    except ValueError:
        problem("signature.json", "signature.json is not JSON")
        return "invalid"
    if not isinstance(signed, dict) or not signed.get("signature"):
        return "unchecked"
    if signed.get("message") != manifest_message(files.get("manifest.json", b"")):
        problem(
            "manifest.json", "manifest.json was altered: it is not the manifest that was signed"
        )
        return "invalid"
    if check is None:
        return "unchecked"
    if (
        signed.get("key_id") not in (None, ledger.get("key_id"))
        and ledger.get("algorithm") == "ed25519"
    ):
        return "unchecked"  # signed with a newer key than the head's: its public key is not here
    if not check(str(signed["message"]), str(signed["signature"])):
        problem("signature.json", "the manifest's signature does not verify with the key given")
        return "invalid"
    return "valid"


def _jsonl(data: bytes, name: str, problem: Callable[[str, str], None]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(data.decode(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            problem(name, f"{name} line {number} is not JSON")
            return []
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _refs(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, dict):
        ref = value.get("ledger")
        if isinstance(ref, dict) and "seq" in ref and "action" in ref:
            yield ref
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
