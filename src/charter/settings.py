"""Typed settings. Every field can be set by an environment variable ``CHARTER_<FIELD>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from charter.spec.durations import parse_duration_or_zero


class SmtpSettings(BaseSettings):
    """The SMTP server that email alert routes send through (``CHARTER_SMTP_<FIELD>``)."""

    model_config = SettingsConfigDict(
        env_prefix="CHARTER_SMTP_", extra="ignore", populate_by_name=True
    )

    host: str | None = Field(
        default=None, description="SMTP server host name. Unset: email routes fail, clearly."
    )
    port: int = Field(default=587, description="SMTP server port (587 submission, 25 relay).")
    user: str | None = Field(default=None, description="User name to log in with, if any.")
    password: SecretStr | None = Field(default=None, description="Password for the user.")
    sender: str = Field(
        default="charter@localhost",
        validation_alias=AliasChoices("CHARTER_SMTP_FROM", "sender"),
        description="The From address of alert emails (env var CHARTER_SMTP_FROM).",
    )
    starttls: bool = Field(
        default=True, description="Upgrade the connection with STARTTLS before logging in."
    )


class AlertDeliverySettings(BaseSettings):
    """How hard alert routes try (``CHARTER_ALERTS_<FIELD>``): bounded attempts and time.

    Queued alert deliveries make one attempt per delivery pass and wait ``backoff`` (doubling)
    between passes; ``max_seconds`` bounds the in-place retries of ``charter alerts test``.
    """

    model_config = SettingsConfigDict(env_prefix="CHARTER_ALERTS_", extra="ignore")

    timeout: float = Field(default=10.0, gt=0, description="Seconds one attempt may take.")
    attempts: int = Field(
        default=5, ge=1, description="Most attempts per route and alert, over delivery passes."
    )
    backoff: float = Field(
        default=0.5,
        ge=0,
        description="Seconds before the first retry is due; doubles each retry.",
    )
    max_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Most seconds `charter alerts test` spends on one route, retries included.",
    )


class IngestSettings(BaseSettings):
    """Overrides of the charters' ingestion settings for this process (``CHARTER_INGEST_<FIELD>``)."""

    model_config = SettingsConfigDict(env_prefix="CHARTER_INGEST_", extra="ignore")

    settle: float | None = Field(
        default=None,
        description=(
            "Seconds a landing file must stay unchanged before it is read, for every charter "
            "(e.g. 0 in tests and demos). Unset: each charter's data.source.settle (30s)."
        ),
    )

    @field_validator("settle", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and value.strip()[-1:].isalpha():
            return parse_duration_or_zero(value).total_seconds()
        return value


class JwtSettings(BaseSettings):
    """Bearer JWTs from the company's identity provider (``CHARTER_SERVER_JWT_<FIELD>``).

    Off while ``issuer`` is unset. When set, a bearer that is not a ``chr_`` token is verified as
    a JWT signed by a key of the JWKS (``jwks_file`` or ``jwks_url``), for ``audience``, and its
    ``role_claim`` is mapped to a charter role by ``role_map``.
    """

    model_config = SettingsConfigDict(env_prefix="CHARTER_SERVER_JWT_", extra="ignore")

    issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer (`iss`), exactly. Unset: JWTs are refused.",
    )
    audience: str | None = Field(
        default=None,
        description="The audience (`aud`) a JWT must name: the client id charter is known by.",
    )
    jwks_file: Path | None = Field(
        default=None,
        description="A JSON Web Key Set file with the provider's public keys (re-read on change).",
    )
    jwks_url: str | None = Field(
        default=None,
        description="The provider's JWKS endpoint (http or https); fetched, cached, re-fetched "
        "for an unknown key id.",
    )
    jwks_cache_seconds: float = Field(
        default=300.0, gt=0, description="How long a fetched JWKS is used before re-fetching."
    )
    algorithms: list[str] = Field(
        default=["RS256", "ES256"],
        description="Signature algorithms accepted; public-key ones only (HS* and none are "
        "refused, so a public key can never be used as a shared secret).",
    )
    email_claim: str = Field(
        default="email", description="The claim that holds the caller's email address."
    )
    role_claim: str = Field(
        default="roles",
        description="The claim (a string or a list of strings) that names the caller's groups "
        "or roles.",
    )
    role_map: dict[str, str] = Field(
        default_factory=dict,
        description='Claim value -> charter role, as JSON, e.g. {"ml-owners": "owner", '
        '"ml-ops": "operator"}; the highest role wins. Empty: the values must be the role '
        "names viewer, operator or owner.",
    )
    leeway_seconds: float = Field(
        default=30.0, ge=0, description="Clock skew allowed when checking exp, nbf and iat."
    )

    @field_validator("algorithms")
    @classmethod
    def _public_key_only(cls, value: list[str]) -> list[str]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}
        allowed |= {"ES512", "EdDSA"}
        refused = [alg for alg in value if alg not in allowed]
        if refused or not value:
            raise ValueError(
                f"JWT algorithms {refused or value} are not accepted: use public-key ones "
                f"({', '.join(sorted(allowed))})"
            )
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)


class ServerSettings(BaseSettings):
    """The HTTP API of ``charter serve`` (``CHARTER_SERVER_<FIELD>``)."""

    model_config = SettingsConfigDict(env_prefix="CHARTER_SERVER_", extra="ignore")

    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body accepted (413 above it)."
    )
    batch_max_records: int = Field(
        default=500,
        ge=1,
        description="Most records one group commit writes to the prediction log at once.",
    )
    batch_wait_ms: float = Field(
        default=2.0,
        ge=0,
        description="How long a group commit waits for more concurrent requests to join it (not "
        "when requests come one at a time: a request alone after a group of one is written at "
        "once).",
    )
    registry_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often, at most, the server checks the registry for new live/shadow "
        "versions and the charter file for changes.",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="The Retry-After of a 503 (prediction log unavailable)."
    )
    jwt: JwtSettings = Field(
        default_factory=JwtSettings,
        description="Bearer JWTs from an identity provider; env vars CHARTER_SERVER_JWT_...",
    )


class Settings(BaseSettings):
    """Where charter keeps its state. Unset fields default to folders inside the workspace."""

    model_config = SettingsConfigDict(env_prefix="CHARTER_", extra="ignore")

    workspace: Path = Field(
        default=Path("."),
        description="The workspace folder: holds charters/ and, by default, .charter/ state.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the metadata database. Default: SQLite at "
            "<workspace>/.charter/charter.db. Teams use postgresql+psycopg://user@host/db."
        ),
    )
    artifacts: str | None = Field(
        default=None,
        description=(
            "Where model artifacts are stored: a folder or any fsspec URL (s3://, gs://, ...). "
            "Default: <workspace>/.charter/artifacts."
        ),
    )
    lake: str | None = Field(
        default=None,
        description=(
            "Where the logs live (prediction log, quarantine, label log, as Parquet): a folder or "
            "any fsspec URL (s3://bucket/prefix, gs://, abfs://). Machines that share the "
            "database must share the lake. Default: <workspace>/.charter, where they have always "
            "been (predictions/, quarantine/, labels/)."
        ),
    )
    lake_grace: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "Seconds an uncommitted file in an object-store lake is left alone before a cleanup "
            "removes it (a writer on another machine may be about to commit it). Accepts 90s, 1h."
        ),
    )
    audit_key_file: Path | None = Field(
        default=None,
        description=(
            "File holding the secret that signs audit checkpoints. It must live outside the "
            "database. Default: <workspace>/.charter/keys/audit.key (created on first use)."
        ),
    )
    audit_key_command: str | None = Field(
        default=None,
        description=(
            "A command that prints the audit key (hex), e.g. a KMS or vault client, so every "
            "machine of a team signs with one key. Set: the key file is not used."
        ),
    )
    audit_algorithm: str = Field(
        default="hmac",
        description=(
            "How checkpoints are signed: hmac (HMAC-SHA256, verifiers need the key) or ed25519 "
            "(verifiers need only the public key)."
        ),
    )
    audit_public_key: str | None = Field(
        default=None,
        description=(
            "The ed25519 public key (hex, from `charter audit keys export`) that verifies "
            "checkpoints on a machine that holds no signing key."
        ),
    )
    trusted_types: str | None = Field(
        default=None,
        description=(
            "Comma-separated module.Name classes or functions that pickle/joblib model files "
            "may import beyond charter's allow-list (scikit-learn, NumPy, SciPy, ... classes)."
        ),
    )
    actor: str | None = Field(
        default=None,
        description="Who is acting, recorded in the audit ledger. Default: $USER@hostname.",
    )
    smtp: SmtpSettings = Field(
        default_factory=SmtpSettings,
        description="SMTP server for email alerts; env vars CHARTER_SMTP_HOST, _PORT, ...",
    )
    alerts: AlertDeliverySettings = Field(
        default_factory=AlertDeliverySettings,
        description="Retry and timeout policy of alert deliveries; env vars CHARTER_ALERTS_...",
    )
    ingest: IngestSettings = Field(
        default_factory=IngestSettings,
        description="Process-wide overrides of ingestion; env var CHARTER_INGEST_SETTLE.",
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings,
        description="The HTTP API (`charter serve`); env vars CHARTER_SERVER_...",
    )
    engine: str | None = Field(
        default=None,
        description=(
            "The compute engine ingestion runs on: polars (the local engine) or spark. "
            "`charter ingest --engine` wins over it, and it over the charter's data.engine. "
            "Default: the charter's data.engine, else polars."
        ),
    )
    spark_master: str = Field(
        default="local[*]",
        description=(
            "Where the spark engine runs: a Spark master URL (local[*], local[2], "
            "spark://host:7077, yarn, k8s://...) or a Spark Connect URL (sc://host:15002), "
            "with which the charter process needs no JVM."
        ),
    )
    require_authenticated_decisions: bool = Field(
        default=False,
        description="When true, `charter approve|reject|authorize` refuse a bare --as and need "
        "an API token (--token or CHARTER_TOKEN) of the deciding identity.",
    )

    @field_validator("lake_grace", mode="before")
    @classmethod
    def _grace(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and value.strip()[-1:].isalpha():
            return parse_duration_or_zero(value).total_seconds()
        return value

    def resolved_workspace(self) -> Path:
        return self.workspace.expanduser().resolve()
