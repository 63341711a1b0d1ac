"""``gridsvc token create|list|revoke``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from gridsvc.cli.common import EXIT_BAD_INPUT, actor, engine, err, handle_errors
from gridsvc.domain.accounts import Role

app = typer.Typer(help="Service tokens for machines (scope everything; stored hashed; shown "
                  "once).", no_args_is_help=True)


@app.command()
@handle_errors
def create(
    role: str = typer.Option(..., help="viewer, reporter, handler, dispatcher, planner or admin"),
    name: str = typer.Option(..., help="who or what the token is for (shown in the audit log)"),
) -> None:
    """Create a token; the token is the last line printed."""
    try:
        parsed = Role.parse(role)
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    from gridsvc.services import tokens

    token = tokens.create_token(engine(), role=parsed, name=name, actor=actor())
    err.print(f"token for {name!r} with role {parsed.name} (shown once, keep it safe):")
    typer.echo(token)


@app.command("list")
@handle_errors
def list_() -> None:
    """List tokens (never the tokens themselves)."""
    from gridsvc.services import tokens

    table = Table("id", "name", "role", "prefix", "created", "revoked")
    for t in tokens.list_tokens(engine()):
        table.add_row(str(t["id"]), str(t["name"]), str(t["role"]), str(t["prefix"]),
                      f"{t['created_at']:%Y-%m-%d %H:%M}",
                      f"{t['revoked_at']:%Y-%m-%d %H:%M}" if t["revoked_at"] else "")
    Console().print(table)


@app.command()
@handle_errors
def revoke(token_id: int = typer.Argument(..., help="the token's id, from 'token list'")) -> None:
    """Revoke a token."""
    from gridsvc.services import tokens

    tokens.revoke_token(engine(), token_id, actor=actor())
    typer.echo(f"token {token_id} revoked")
