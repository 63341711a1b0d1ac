"""``gridsvc db start|stop|status|upgrade|downgrade``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from gridsvc.cli.common import engine, handle_errors, settings

if TYPE_CHECKING:
    from gridsvc.db.embedded import EmbeddedPostgres

app = typer.Typer(help="The database: the embedded PostGIS, and migrations.", no_args_is_help=True)


def _embedded() -> EmbeddedPostgres:
    from gridsvc.db.embedded import EmbeddedPostgres

    s = settings()
    if not s.embedded:
        typer.echo("GRIDSVC_DATABASE_URL is set: that server is used, nothing embedded runs.")
        raise typer.Exit(0)
    return EmbeddedPostgres(s.data_dir)


@app.command()
@handle_errors
def start() -> None:
    """Start the embedded PostGIS (made on first use) and migrate it."""
    _embedded()
    engine().dispose()
    pg = _embedded()  # made now: where it went, and who runs it, are settled
    typer.echo(f"embedded PostGIS running: data in {pg.pgdata} (server runs as "
               f"'{pg.server_user()}'), socket in {pg.socket_dir}")


@app.command()
@handle_errors
def stop() -> None:
    """Stop the embedded PostGIS."""
    stopped = _embedded().stop()
    typer.echo("stopped" if stopped else "not running")


@app.command()
@handle_errors
def status() -> None:
    """Show where the database is, which user runs it, and whether it runs."""
    from gridsvc.services.database import embedded_status

    typer.echo(json.dumps(embedded_status(settings()), indent=2))


@app.command()
@handle_errors
def upgrade(revision: str = typer.Argument("head", help="Alembic revision")) -> None:
    """Migrate the database (embedded or GRIDSVC_DATABASE_URL) up to REVISION."""
    from gridsvc.db import migrate
    from gridsvc.db.engine import make_engine

    eng = make_engine(settings())
    migrate.upgrade(eng, revision)
    typer.echo(f"database at revision {migrate.current_revision(eng)}")
    eng.dispose()


@app.command()
@handle_errors
def downgrade(revision: str = typer.Argument(..., help="Alembic revision, or 'base'")) -> None:
    """Migrate the database down to REVISION ('base' drops every gridsvc table)."""
    from gridsvc.db import migrate
    from gridsvc.db.engine import make_engine

    eng = make_engine(settings())
    migrate.downgrade(eng, revision)
    typer.echo(f"database at revision {migrate.current_revision(eng)}")
    eng.dispose()
