"""``charter tokens create|list|revoke``: the HTTP API's bearer tokens (see :mod:`charter.tokens`)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.tokens import TokenInfo

tokens_app = typer.Typer(help="HTTP API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


class RoleChoice(StrEnum):
    viewer = "viewer"
    operator = "operator"
    owner = "owner"


@tokens_app.command("create")
def create_command(
    ctx: typer.Context,
    identity: Annotated[
        str, typer.Option("--as", metavar="EMAIL", help="Whose token: the identity it proves.")
    ],
    role: Annotated[
        RoleChoice,
        typer.Option(
            "--role",
            help="viewer reads; operator also predicts and sends labels; owner also decides "
            "(on the charters that name the identity as owner or delegate).",
        ),
    ],
    expires: Annotated[
        str,
        typer.Option("--expires", metavar="DURATION", help="Lifetime, e.g. 90d, 12h, or never."),
    ] = "90d",
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it once: only its SHA-256 is stored."""
    from charter.schemas.tokens import CreatedToken
    from charter.tokens import create_token

    token, info = create_token(workspace(ctx), identity, role.value, expires=expires)

    def human(console: Console) -> None:
        console.print(token)
        until = f"until {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else "no expiry"
        console.print(
            f"Token {info.id} for {info.identity} ({info.role}), {until}. It is shown only "
            "now: store it in a secret manager."
        )

    created = CreatedToken(token=token, **info.to_schema().model_dump())
    emit(created.to_json_dict(), as_json=as_json, human=human)


@tokens_app.command("list")
def list_command(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Expired and revoked ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the tokens (never the secrets): id, prefix, identity, role, expiry, last use."""
    from charter.tokens import list_tokens

    found = list_tokens(workspace(ctx), include_inactive=show_all)
    emit([t.to_dict() for t in found], as_json=as_json, human=lambda c: _print(c, found))


def _print(console: Console, found: list[TokenInfo]) -> None:
    if not found:
        console.print("no tokens; create one with `charter tokens create --as EMAIL --role ROLE`")
    for t in found:
        expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        console.print(
            f"{t.id:>4}  {t.prefix}…  {t.identity:<32} {t.role:<8} {t.status:<7} "
            f"expires {expires}  last used {used}"
        )


@tokens_app.command("revoke")
def revoke_command(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id (tokens list).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token at once."""
    from charter.tokens import revoke_token

    info = revoke_token(workspace(ctx), token_id)
    emit(
        info.to_dict(),
        as_json=as_json,
        human=lambda c: c.print(f"Token {info.id} ({info.prefix}…) of {info.identity} is revoked."),
    )
