"""Alembic environment: gridsvc's models, with the GeoAlchemy2 helpers for spatial columns."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from gridsvc.db import partitions
from gridsvc.db.engine import database_url
from gridsvc.db.models import Base
from gridsvc.settings import get_settings

config = context.config
target_metadata = Base.metadata

# Shared with the drift test, so "no drift" means what autogenerate itself would write.
CONTEXT_OPTIONS = {
    "include_object": partitions.include_object,
    "process_revision_directives": alembic_helpers.writer,
    "render_item": alembic_helpers.render_item,
}


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      **CONTEXT_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          **CONTEXT_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, **CONTEXT_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
