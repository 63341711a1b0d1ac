"""Engine factory: the configured server, or the embedded PostGIS started on demand."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from gridsvc.db import rls
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


def _options(kwargs: dict[str, object]) -> dict[str, object]:
    options: dict[str, object] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    # JIT off: the per-row "cell under another plan" subqueries (db/staffing.cell_sql) are
    # costed as if they always ran, so PostgreSQL JIT-compiles queries that take milliseconds
    # and spends ~0.4 s doing it (measured on the map and staffing queries).
    options["connect_args"] = {"options": "-c jit=off"}
    options.update(kwargs)
    return options


def make_engine(settings: Settings, **kwargs: object) -> Engine:
    """A SQLAlchemy engine for the configured database (embedded started on demand)."""
    return create_engine(database_url(settings), **_options(kwargs))


def app_database_url(settings: Settings, owner: Engine) -> str:
    """The URL the web service's requests use: role ``gridsvc_app`` (see :mod:`gridsvc.db.rls`).

    ``GRIDSVC_APP_DATABASE_URL`` when set; otherwise the owner's URL with the user changed to
    ``gridsvc_app`` and no password (the embedded cluster trusts any role on its Unix socket;
    a server of your own needs the role's password in ``GRIDSVC_APP_DATABASE_URL``, or a
    ``.pgpass`` entry, or trust for it in ``pg_hba.conf``).
    """
    if settings.app_database_url:
        url = make_url(settings.app_database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
    else:
        url = owner.url.set(username=rls.APP_ROLE, password=None)
    return url.render_as_string(hide_password=False)


def make_app_engine(settings: Settings, owner: Engine, **kwargs: object) -> Engine:
    """The engine of the web service's requests: role ``gridsvc_app``, each transaction bound
    to the signed-in account (:func:`gridsvc.db.rls.bind_accounts`)."""
    return rls.bind_accounts(create_engine(app_database_url(settings, owner), **_options(kwargs)))


def server_versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL and PostGIS versions of the server."""
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    return {"postgresql": pg, "postgis": postgis}
