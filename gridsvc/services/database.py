"""Getting a database that is up and at the current schema."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from gridsvc.db import migrate
from gridsvc.db.embedded import EmbeddedPostgres
from gridsvc.db.engine import make_engine, server_versions
from gridsvc.errors import DatabaseUnavailable
from gridsvc.settings import Settings

log = logging.getLogger(__name__)


def head_revision() -> str:
    """The newest migration of the project."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def ready_engine(settings: Settings, **engine_options: object) -> Engine:
    """An engine on a database at the newest schema.

    The embedded cluster is started and migrated on demand. A configured server is never
    migrated behind its owner's back: when it is behind, this raises and says what to run.

    Raises
    ------
    DatabaseUnavailable
        When the server cannot be reached, or a configured server is not at the newest schema.
    """
    engine = make_engine(settings, **engine_options)
    try:
        at = migrate.current_revision(engine)
    except Exception as exc:  # any driver error: the message is what the user needs
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    head = head_revision()
    if at != head:
        if settings.embedded:
            log.info("migrating the embedded database from %s to %s", at, head)
            migrate.upgrade(engine)
        else:
            raise DatabaseUnavailable(
                f"the database is at schema revision {at}, gridsvc needs {head}: "
                "run 'gridsvc db upgrade' first"
            )
    return engine


def versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL and PostGIS versions of the server (what ``/healthz`` reports)."""
    return server_versions(engine)


def embedded_status(settings: Settings) -> dict[str, object]:
    """What ``gridsvc db status`` shows: for the embedded cluster, the data folder, where the
    cluster really is (``cluster_dir``: the data folder, or a folder under ``/var/lib/gridsvc``
    when the server could not run in it), its socket, the user the server runs as (None before
    it is made), and whether it is made and running."""
    if not settings.embedded:
        return {"mode": "external", "url": settings.database_url.split("@")[-1]}
    pg = EmbeddedPostgres(settings.data_dir)
    return {"mode": "embedded", "data_dir": str(pg.data_dir), "cluster_dir": str(pg.cluster_dir),
            "socket_dir": str(pg.socket_dir), "server_user": pg.server_user(),
            "initialised": pg.initialised, "running": pg.is_running()}
