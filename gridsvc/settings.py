"""Settings, read from ``GRIDSVC_*`` environment variables (and a ``.env`` file).

Settings are built by :func:`get_settings` or by passing values to :class:`Settings`; nothing
reads the environment at import time, so tests and the CLI can build as many as they need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The project checkout, when the package runs from one (editable install or a source tree).
PROJECT_DIR = Path(__file__).resolve().parent.parent


def _default_demo_dir() -> Path:
    return PROJECT_DIR / "data" / "demo_town"


class MapSettings(BaseSettings):
    """Settings of the map pages (``GRIDSVC_MAP_*``).

    Attributes
    ----------
    language
        ``zh`` (the default) or ``en``: labels, legends and tooltips.
    tiles
        Basemap tile URL template (``{z}/{x}/{y}``, ``{s}`` allowed), e.g. an intranet Tianditu
        or AMap-style server. Empty (the default): no basemap, the cells alone, so a page never
        asks any server but gridsvc for anything.
    tiles_crs
        ``wgs84`` for tiles drawn in WGS84/CGCS2000 (Tianditu, OSM), ``gcj02`` for tiles drawn in
        the offset system of AMap/Tencent: the pages then shift every geometry to GCJ-02 so it
        lines up with the tiles.
    tiles_attribution
        Attribution shown for the basemap.
    risk_days
        Default time window of the risk map, in days up to today.
    risk_red, risk_orange
        Incidents per 1,000 households over the window from which a compound or grid is red, or
        orange; below ``risk_orange`` it is green. They count incidents over the whole window,
        so a longer window wants higher thresholds (the defaults suit the 90-day default).
    prewarm
        Build the coverage page (and start its first view's tiles) in the background when the
        service starts, so the first person to open the wall map does not wait for it.
    tile_above
        A cell layer with more cells than this is drawn from vector tiles instead of inline
        GeoJSON (pages stay light and quick for a whole city; exported files are always inline).
    floating_red, floating_orange, floating_yellow
        Floating residents per registered resident from which a grid is red, orange or yellow;
        below ``floating_yellow`` it is blue (1.0: as many floating as registered, 倒挂).
    """

    model_config = SettingsConfigDict(env_prefix="GRIDSVC_MAP_", env_file=".env", extra="ignore")

    language: Literal["zh", "en"] = "zh"
    tiles: str = ""
    tiles_crs: Literal["wgs84", "gcj02"] = "wgs84"
    tiles_attribution: str = ""
    risk_days: int = Field(default=90, gt=0)
    risk_red: float = Field(default=30.0, gt=0)
    risk_orange: float = Field(default=15.0, gt=0)
    prewarm: bool = True
    tile_above: int = Field(default=1500, ge=0)
    floating_red: float = Field(default=1.0, gt=0)
    floating_orange: float = Field(default=0.5, gt=0)
    floating_yellow: float = Field(default=0.2, gt=0)


class Settings(BaseSettings):
    """Service settings.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of an existing PostgreSQL/PostGIS server. When empty (the default) the
        embedded cluster in ``data_dir`` is used, and started on demand.
    app_database_url
        URL the web service's requests use, as the role ``gridsvc_app`` that row-level
        security applies to (made by the migrations; give it a password with ``ALTER ROLE
        gridsvc_app PASSWORD '...'`` on your server). When empty (the default): the database
        URL with the user ``gridsvc_app`` and no password, which the embedded cluster accepts.
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
    map
        Settings of the map pages (:class:`MapSettings`, ``GRIDSVC_MAP_*``).
    events_sweep_seconds
        How often the service escalates events past their time limit (0: never; the
        command ``gridsvc events sweep`` does it by hand). Safe with several processes.
    events_near_boundary_m
        A reported point this close to the edge of its grid, beat or village is flagged for
        the reporter to confirm the place.
    events_working_hours
        Count time limits in working hours (8:30-17:30, Monday to Friday, Asia/Shanghai)
        instead of calendar hours.
    events_photo_max_bytes
        Largest photo of an event; photos live in ``data_dir/event-photos``.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDSVC_", env_file=".env", extra="ignore")

    database_url: str = ""
    app_database_url: str = ""
    data_dir: Path = Path("var")
    demo_dir: Path = Field(default_factory=_default_demo_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = 200 * 1024 * 1024
    token_cache_seconds: float = 30.0
    map: MapSettings = Field(default_factory=MapSettings)
    events_sweep_seconds: float = Field(default=60.0, ge=0)
    events_near_boundary_m: float = Field(default=10.0, ge=0)
    events_working_hours: bool = False
    events_photo_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    @property
    def embedded(self) -> bool:
        """True when no external database is configured."""
        return not self.database_url


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)
