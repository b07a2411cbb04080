"""The tamper-evident audit ledger: a hash chain whose head is signed with a key outside the database."""

from charter.audit.ledger import BadEntry, Ledger, VerifyReport

__all__ = ["BadEntry", "Ledger", "VerifyReport"]
