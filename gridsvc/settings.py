"""Settings, read from ``GRIDSVC_*`` environment variables (and a ``.env`` file).

Settings are built by :func:`get_settings` or by passing values to :class:`Settings`; nothing
reads the environment at import time, so tests and the CLI can build as many as they need.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The project checkout, when the package runs from one (editable install or a source tree).
PROJECT_DIR = Path(__file__).resolve().parent.parent


def _default_demo_dir() -> Path:
    return PROJECT_DIR / "data" / "demo_town"


class Settings(BaseSettings):
    """Service settings.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of an existing PostgreSQL/PostGIS server. When empty (the default) the
        embedded cluster in ``data_dir`` is used, and started on demand.
    data_dir
        Folder of the embedded cluster (``pg/`` holds the cluster, ``run/`` its Unix socket).
        Relative paths are taken from the current directory.
    demo_dir
        Folder of the demo town files written by ``data/generate_demo_town.py``.
    host, port
        Where ``gridsvc serve`` listens.
    max_upload_bytes
        Largest request body accepted by upload endpoints; larger ones get a 413.
    token_cache_seconds
        How long a verified token's role is cached in memory; a revoked token stops working
        after at most this long.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDSVC_", env_file=".env", extra="ignore")

    database_url: str = ""
    data_dir: Path = Path("var")
    demo_dir: Path = Field(default_factory=_default_demo_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = 200 * 1024 * 1024
    token_cache_seconds: float = 30.0

    @property
    def embedded(self) -> bool:
        """True when no external database is configured."""
        return not self.database_url


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)
