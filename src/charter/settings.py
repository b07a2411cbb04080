"""Typed settings. Every field can be set by an environment variable ``CHARTER_<FIELD>``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    audit_key_file: Path | None = Field(
        default=None,
        description=(
            "File holding the secret that signs audit checkpoints. It must live outside the "
            "database. Default: <workspace>/.charter/keys/audit.key (created on first use)."
        ),
    )
    actor: str | None = Field(
        default=None,
        description="Who is acting, recorded in the audit ledger. Default: $USER@hostname.",
    )

    def resolved_workspace(self) -> Path:
        return self.workspace.expanduser().resolve()
