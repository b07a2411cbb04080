"""Every error charter raises on purpose derives from :class:`CharterError`.

The hierarchy, and when each is raised::

    CharterError                      root; ``exit_code`` is what the CLI exits with
    ├── CharterFileError              a charter file cannot be read or fails validation
    │                                  (carries ``problems``: one "field.path: what is wrong" each)
    ├── CharterNotFoundError          no charter of that name in the workspace
    ├── WorkspaceError                the workspace folder is missing or not a workspace
    ├── StoreError                    the metadata database cannot be used
    │   └── StoreUnavailableError     the database URL cannot be reached or opened
    ├── RegistryError                 registering or loading a model version failed
    │   ├── ModelFileError            the model file is missing or cannot be loaded as its flavor
    │   ├── ArtifactTamperedError     a stored artifact no longer matches its registered SHA-256
    │   └── VersionNotFoundError      no such version of that charter
    ├── AuditError                    the audit ledger cannot be written, read or exported
    │   ├── AuditKeyError             the audit key is missing, unreadable or of the wrong kind
    │   └── StateTamperedError        a bound row (version status or hash, a pre-authorisation)
    │                                  no longer matches its binding in the ledger (exit 4)
    ├── EvidenceError                 an evidence pack cannot be written or read, or a request
    │   │                              for one is invalid (a bad --as-of, an unknown framework);
    │   │                              an --as-of the ledger cannot answer for (before its first
    │   │                              entry, in the future) on versions, decisions or status
    │   └── PackTamperedError         a pack's file, manifest or ledger excerpt does not verify
    │                                  (exit 4)
    ├── RetentionError                ``charter purge`` refused: inside the retention period,
    │                                  the ledger, or nothing the retention lets go
    ├── DataError                     live data cannot be read or does not fit the contract at all
    ├── ExpressionError               a segment/filter expression does not parse or names no column
    ├── AlertError                    an alert operation was refused (bad argument, no routes)
    │   ├── AlertNotFoundError        the charter has no alert with that id
    │   └── AlertStateError           the alert's status forbids the change (e.g. ack a resolved one)
    ├── LifecycleError                a status change or decision was refused; nothing changed
    │   ├── NoRollbackTargetError     a rollback with no standby (or named version) to restore
    │   └── DecisionError             a decision cannot be taken (version, missing statement)
    │       ├── NotAuthorizedError    someone other than the owner or a named delegate decided
    │       │   └── InvalidIdentityError  an actor or identity that cannot be recorded (empty, too
    │       │                              long, invisible characters) or is a look-alike
    │       └── EvidenceChangedError  an approval bound to evidence that changed since it was shown
    ├── DecisionNotFoundError         the charter has no decision with that id
    ├── PredictionNotFoundError       no logged prediction with that id (or key)
    ├── SchedulerLockError            another scheduler holds the store's lock (or this one lost it)
    ├── AuthenticationError           no API token, or one that is unknown, expired or revoked
    │   └── IdentityProviderUnavailableError  the JWKS of the identity provider cannot be read
    ├── PermissionDeniedError         the token's role may not do that (e.g. a viewer predicting)
    ├── RequestError                  an HTTP request body is malformed, of the wrong shape or too big
    │   └── ContractViolationError    online records broke the data contract (quarantined);
    │                                  ``records`` names every rule each broke
    ├── PredictionLogUnavailableError the prediction log cannot be written: nothing was answered
    └── UserCodeError                 user code (an entrypoint, a training function) raised;
                                       ``__cause__`` holds the original exception

Translation to exit codes happens in :mod:`charter.cli.main`; to HTTP statuses in
:mod:`charter.server.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CharterError(Exception):
    """Root of every error charter raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of this error, used by ``--json`` output and the HTTP API."""
        body: dict[str, Any] = {"type": type(self).__name__, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class CharterFileError(CharterError):
    """A charter file cannot be parsed or fails validation; ``problems`` lists each issue."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} {noun}:\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["source"] = self.source
        body["problems"] = self.problems
        return body


class CharterNotFoundError(CharterError):
    """No charter of the given name exists in the workspace's ``charters/`` folder."""


class WorkspaceError(CharterError):
    """The workspace folder is missing, unwritable or not a charter workspace."""


class StoreError(CharterError):
    """The metadata database refused an operation."""


class StoreUnavailableError(StoreError):
    """The database URL cannot be reached, opened or migrated."""

    exit_code = 3


class RegistryError(CharterError):
    """Registering, listing or loading a model version failed."""


class ModelFileError(RegistryError):
    """The model file is missing, or cannot be loaded as the flavor it claims."""


class ArtifactTamperedError(RegistryError):
    """A stored artifact's bytes no longer hash to the SHA-256 recorded at registration."""

    exit_code = 4


class VersionNotFoundError(RegistryError):
    """The charter has no version with that number."""


class AuditError(CharterError):
    """The audit ledger cannot be appended to, read, verified or exported."""


class AuditKeyError(AuditError):
    """The audit key is missing (after the ledger has entries), unreadable or of the wrong kind."""


class EvidenceError(CharterError):
    """An evidence pack cannot be written or read, or what was asked of one is invalid; or an
    ``--as-of`` the ledger cannot answer for."""


class PackTamperedError(EvidenceError):
    """A file of an evidence pack, its manifest or its ledger excerpt does not verify."""

    exit_code = 4


class RetentionError(CharterError):
    """``charter purge`` refused: the date is inside the retention period, the ledger was asked
    for, or the retention keeps everything."""


class StateTamperedError(AuditError):
    """A row a decision depends on (a version's status or artifact hash, a pre-authorisation)
    no longer matches its latest binding in the signed audit ledger: it was changed outside
    charter, and is refused at use."""

    exit_code = 4


class DataError(CharterError):
    """Live data cannot be read, or does not fit the data contract at all."""


class ExpressionError(CharterError):
    """A segment or filter expression does not parse; ``position`` is the 0-based offset."""

    def __init__(self, expression: str, message: str, position: int | None = None) -> None:
        self.expression = expression
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"expression {expression!r}: {message}{where}")


class AlertError(CharterError):
    """An alert operation was refused: a bad argument, or no routes to test."""


class AlertNotFoundError(AlertError):
    """The charter has no alert with that id."""


class AlertStateError(AlertError):
    """The alert's status forbids the change, e.g. acknowledging a resolved alert."""


class UserCodeError(CharterError):
    """User code (a model entrypoint, a training function) raised; ``__cause__`` is the original."""


class LifecycleError(CharterError):
    """A status change or a decision was refused; the message says why and nothing changed."""


class NoRollbackTargetError(LifecycleError):
    """A rollback was asked for but there is no standby (or named version) to restore."""


class DecisionError(LifecycleError):
    """A decision was refused: the version cannot be decided on, or a statement is missing."""


class NotAuthorizedError(DecisionError):
    """Someone other than the charter's owner (or a delegate it names) tried to decide."""


class EvidenceChangedError(DecisionError):
    """An approval bound to an evidence digest that no longer matches the evidence as it is now."""


class DecisionNotFoundError(CharterError):
    """No decision with that id for that charter."""


class PredictionNotFoundError(CharterError):
    """No committed batch logged a prediction with that id (or, for a key, of that charter)."""


class InvalidIdentityError(NotAuthorizedError):
    """An actor or identity is empty, too long, has invisible characters, or is a look-alike."""


class SchedulerLockError(CharterError):
    """Another scheduler holds the store's scheduler lock, or this one lost it."""


class AuthenticationError(CharterError):
    """No API token was given, or it is unknown, expired or revoked."""


class IdentityProviderUnavailableError(AuthenticationError):
    """The identity provider's keys (its JWKS file or URL) cannot be read: no JWT can be checked."""

    exit_code = 3


class PermissionDeniedError(CharterError):
    """The authenticated identity's role does not allow the call (the refusal is recorded)."""


class RequestError(CharterError):
    """An HTTP request is malformed: not JSON, the wrong shape, unknown fields, or too large."""

    def __init__(self, message: str, *, hint: str | None = None, status: int = 422) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ContractViolationError(RequestError):
    """Online records broke the data contract; they were quarantined like batch rows.

    ``records`` holds one ``{"index", "key", "violations"}`` per refused record and
    ``predictions`` the answers for the records of the same request that passed.
    """

    def __init__(
        self,
        message: str,
        *,
        records: Sequence[dict[str, Any]],
        predictions: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(
            message, hint="Fix the records and send them again; they are kept in quarantine."
        )
        self.records = list(records)
        self.predictions = list(predictions)

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["records"] = self.records
        body["predictions"] = self.predictions
        return body


class PredictionLogUnavailableError(CharterError):
    """The prediction log (its files or the database) cannot be written; nothing was answered."""

    exit_code = 3
