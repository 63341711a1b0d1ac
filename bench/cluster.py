"""A private embedded PostGIS for a benchmark run (shared by the bench scripts)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def private_dir(prefix: str) -> Path:
    """A temp folder the database server can enter (it runs as 'postgres' when we are root)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


@contextlib.contextmanager
def private_cluster(prefix: str) -> Iterator[Any]:
    """A private embedded PostGIS in a temp dir, stopped and removed on exit."""
    from gridsvc.db.embedded import EmbeddedPostgres

    d = private_dir(prefix)
    pg = EmbeddedPostgres(d)
    try:
        pg.start()
        yield pg
    finally:
        with contextlib.suppress(Exception):
            pg.stop()
        shutil.rmtree(d, ignore_errors=True)
        if pg.socket_dir != d / "run":
            shutil.rmtree(pg.socket_dir, ignore_errors=True)
