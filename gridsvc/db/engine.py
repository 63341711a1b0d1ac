"""Engine factory: the configured server, or the embedded PostGIS started on demand."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from gridsvc.db.embedded import EmbeddedPostgres
from gridsvc.settings import Settings


def database_url(settings: Settings, *, start: bool = True) -> str:
    """The SQLAlchemy URL to use.

    With ``GRIDSVC_DATABASE_URL`` set, that server (a plain ``postgresql://`` URL is given the
    psycopg 3 driver, the one gridsvc installs). Otherwise the embedded cluster in
    ``settings.data_dir``, started first when ``start`` is true.
    """
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    embedded = EmbeddedPostgres(settings.data_dir)
    if start:
        embedded.start()
    return embedded.url()


def make_engine(settings: Settings, **kwargs: object) -> Engine:
    """A SQLAlchemy engine for the configured database (embedded started on demand)."""
    options: dict[str, object] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    # JIT off: the per-row "cell under another plan" subqueries (db/staffing.cell_sql) are
    # costed as if they always ran, so PostgreSQL JIT-compiles queries that take milliseconds
    # and spends ~0.4 s doing it (measured on the map and staffing queries).
    # connect_timeout: a server that does not answer (a host gone from the network) costs a
    # request 5 s, not the system's TCP timeout of minutes.
    options["connect_args"] = {"options": "-c jit=off", "connect_timeout": 5}
    options.update(kwargs)
    return create_engine(database_url(settings), **options)


def server_versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL and PostGIS versions of the server."""
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    return {"postgresql": pg, "postgis": postgis}
