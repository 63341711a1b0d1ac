"""``gridsvc account create|list|disable|enable|reset-password|scope``: thin commands over
:mod:`gridsvc.services.accounts` (as the database owner)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from gridsvc.cli.common import EXIT_BAD_INPUT, actor, engine, err, handle_errors
from gridsvc.domain.accounts import Role

app = typer.Typer(help="Accounts of people: sign-in, role and scope (cells).",
                  no_args_is_help=True)

PASSWORD_HELP = "the password (asked for when not given; at least 10 characters)"
SCOPE_HELP = ("cells the account sees, e.g. 'grid:G102001001 beat:B01', 'station:S01' or 'all' "
              "(default with --person: the cells the person is linked to)")


def _role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _password(given: str | None) -> str:
    return given if given is not None else typer.prompt(
        "password", hide_input=True, confirmation_prompt=True)


@app.command()
@handle_errors
def create(
    username: str = typer.Argument(..., help="the sign-in name (letters, digits, - _ .)"),
    role: str = typer.Option(..., help="viewer, reporter, handler, dispatcher, planner or admin"),
    name: str = typer.Option("", help="the name shown on pages (default: the sign-in name)"),
    person: str | None = typer.Option(None, help="business id of the person, e.g. GW001"),
    scope: str | None = typer.Option(None, help=SCOPE_HELP),
    password: str | None = typer.Option(None, help=PASSWORD_HELP),
) -> None:
    """Create an account."""
    from gridsvc.services import accounts

    parsed = _role(role)
    rows = accounts.parse_scope(scope) if scope is not None else None
    account_id = accounts.create_account(
        engine(), username=username, display_name=name, role=parsed,
        password=_password(password), person_id=person, scope=rows, actor=actor())
    typer.echo(f"account {username.strip().lower()} created (id {account_id})")


@app.command("list")
@handle_errors
def list_() -> None:
    """List accounts: role, person, scope, state (never a password)."""
    from gridsvc.services import accounts

    table = Table("name", "shown as", "role", "scope", "state", "last sign-in")
    for a in accounts.list_accounts(engine()):
        state = "disabled" if a["disabled"] else (
            f"locked until {a['locked_until']:%H:%M}" if a["locked_until"] else "")
        table.add_row(a["username"], a["display_name"], a["role"], a["scope"] or "-", state,
                      f"{a['last_signin_at']:%Y-%m-%d %H:%M}" if a["last_signin_at"] else "")
    Console(width=160).print(table)


@app.command()
@handle_errors
def disable(username: str = typer.Argument(...)) -> None:
    """Disable an account: its sessions and personal tokens end, and it sees nothing."""
    from gridsvc.services import accounts

    accounts.set_disabled(engine(), username, True, actor=actor())
    typer.echo(f"account {username} disabled")


@app.command()
@handle_errors
def enable(username: str = typer.Argument(...)) -> None:
    """Enable a disabled account again."""
    from gridsvc.services import accounts

    accounts.set_disabled(engine(), username, False, actor=actor())
    typer.echo(f"account {username} enabled")


@app.command("reset-password")
@handle_errors
def reset_password(username: str = typer.Argument(...),
                   password: str | None = typer.Option(None, help=PASSWORD_HELP)) -> None:
    """Set a new password: clears a lock and ends the account's sessions."""
    from gridsvc.services import accounts

    accounts.reset_password(engine(), username, _password(password), actor=actor())
    typer.echo(f"password of {username} reset")


@app.command()
@handle_errors
def scope(username: str = typer.Argument(...),
          cells: str = typer.Argument(..., help=SCOPE_HELP)) -> None:
    """Replace an account's scope."""
    from gridsvc.services import accounts

    accounts.set_scope(engine(), username, accounts.parse_scope(cells), actor=actor())
    typer.echo(f"scope of {username}: {cells}")
