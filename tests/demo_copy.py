"""A scratch copy of the demo town, for tests that write plans (the shared ``engine`` fixture's
database must not get plans other tests would see)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine


@contextmanager
def demo_database(pg, settings) -> Iterator[Engine]:
    """A new database, migrated, with the demo town loaded; dropped afterwards."""
    from gridsvc.db import migrate
    from gridsvc.services.demo import load_demo

    name = f"scratch_{uuid.uuid4().hex[:10]}"
    pg.create_database(name)
    eng = create_engine(pg.url(name))
    try:
        migrate.upgrade(eng)
        load_demo(eng, settings.demo_dir, actor="test-suite")
        yield eng
    finally:
        eng.dispose()
        pg.drop_database(name)
