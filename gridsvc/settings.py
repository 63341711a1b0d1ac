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


class DutySettings(BaseSettings):
    """Settings of duty, patrol and responsibility fields (``GRIDSVC_DUTY_*``).

    Attributes
    ----------
    zone
        IANA time zone of the rotations and patrol rounds (wall times are in it).
    horizon_days
        Duty intervals are materialised this many days ahead of today.
    memory_hours
        The on-duty answer holds the intervals this many hours either side of now in memory;
        other instants are asked of the database.
    day_starts
        Local time a duty day (and so a patrol shift) starts: rounds starting from then until
        the same time the next day belong to that day's shift.
    radius_m
        A check-in counts when the phone is at most this far from the point.
    max_accuracy_m
        ... and its GPS accuracy is at most this (a vaguer fix proves nothing).
    grace_minutes
        A check-in up to this long after a round's end counts, as late; the round closes then
        (a check-in received later cannot complete it).
    clock_skew_seconds
        A device clock ahead of the server's by more than this is not trusted: the server's
        time is used.
    max_speed_kmh
        Two check-ins of one person needing a faster move (GPS accuracies given the benefit of
        the doubt) are both flagged and do not count.
    visit_gap_minutes
        Check-ins at one point within this of the previous one are the same visit.
    hotspot_weeks, hotspot_hours, hotspot_cell_m, hotspot_top, hotspot_min_count
        Night hot spots: incidents of the last weeks at these local hours ("0-6": 00:00 to
        05:59), counted in squares of this size; at most ``top`` spots of at least
        ``min_count`` incidents.
    weight_households, weight_floating, weight_rentals, weight_incidents
        Weights of the village complexity score (each count divided by the station's mean).
    complexity_days
        Incidents of this many days before today count in the complexity score.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDSVC_DUTY_", env_file=".env",
                                      extra="ignore")

    zone: str = "Asia/Shanghai"
    horizon_days: int = Field(default=400, gt=0, le=3660)
    memory_hours: float = Field(default=36.0, gt=0)
    day_starts: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    radius_m: float = Field(default=50.0, gt=0)
    max_accuracy_m: float = Field(default=100.0, gt=0)
    grace_minutes: float = Field(default=30.0, ge=0)
    clock_skew_seconds: float = Field(default=300.0, ge=0)
    max_speed_kmh: float = Field(default=40.0, gt=0)
    visit_gap_minutes: float = Field(default=20.0, ge=0)
    hotspot_weeks: int = Field(default=8, gt=0)
    hotspot_hours: str = Field(default="0-6", pattern=r"^\d{1,2}-\d{1,2}$")
    hotspot_cell_m: float = Field(default=200.0, gt=0)
    hotspot_top: int = Field(default=10, gt=0)
    hotspot_min_count: int = Field(default=3, gt=0)
    weight_households: float = Field(default=1.0, ge=0)
    weight_floating: float = Field(default=1.0, ge=0)
    weight_rentals: float = Field(default=1.0, ge=0)
    weight_incidents: float = Field(default=2.0, ge=0)
    complexity_days: int = Field(default=365, gt=0)


class AssessSettings(BaseSettings):
    """Weights and targets of the assessments (``GRIDSVC_ASSESS_*``; see
    :mod:`gridsvc.domain.reports.assessment`).

    Attributes
    ----------
    weight_patrol, weight_staffing, weight_on_time, weight_visits
        Weights of patrol coverage, staffing, events handled on time (按期处置率) and houses
        visited in the total; figures not available are left out and the rest renormalised.
    target_patrol, target_staffing, target_on_time, target_visits
        The value that earns a figure's full weight (a share; visits: per house).
    """

    model_config = SettingsConfigDict(env_prefix="GRIDSVC_ASSESS_", env_file=".env",
                                      extra="ignore")
    weight_patrol: float = Field(default=0.4, ge=0)
    weight_staffing: float = Field(default=0.2, ge=0)
    weight_on_time: float = Field(default=0.3, ge=0)
    weight_visits: float = Field(default=0.1, ge=0)
    target_patrol: float = Field(default=0.9, gt=0, le=1)
    target_staffing: float = Field(default=1.0, gt=0, le=1)
    target_on_time: float = Field(default=0.95, gt=0, le=1)
    target_visits: float = Field(default=1.0, gt=0)

    def weights(self) -> dict[str, float]:
        return {"patrol": self.weight_patrol, "staffing": self.weight_staffing,
                "on_time": self.weight_on_time, "visits": self.weight_visits}

    def targets(self) -> dict[str, float]:
        return {"patrol": self.target_patrol, "staffing": self.target_staffing,
                "on_time": self.target_on_time, "visits": self.target_visits}


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
    token_outage_seconds
        While the database is away, a token verified within this many seconds is still let
        in, so lookups and dispatch keep answering from memory (15 minutes by default).
    map
        Settings of the map pages (:class:`MapSettings`, ``GRIDSVC_MAP_*``).
    duty
        Settings of duty and patrol (:class:`DutySettings`, ``GRIDSVC_DUTY_*``).
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
    assess
        Weights and targets of the assessments (:class:`AssessSettings`, ``GRIDSVC_ASSESS_*``).
    proposal_budget_seconds
        Time the search of ``POST /api/v1/plans/proposals`` may take: after it no new start
        is tried and the best proposal found is answered, marked ``stopped_early`` (reading
        the houses and writing the draft come on top).
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
    token_outage_seconds: float = 900.0
    map: MapSettings = Field(default_factory=MapSettings)
    duty: DutySettings = Field(default_factory=DutySettings)
    events_sweep_seconds: float = Field(default=60.0, ge=0)
    events_near_boundary_m: float = Field(default=10.0, ge=0)
    events_working_hours: bool = False
    events_photo_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    assess: AssessSettings = Field(default_factory=AssessSettings)
    proposal_budget_seconds: float = Field(default=15.0, gt=0)

    @property
    def embedded(self) -> bool:
        """True when no external database is configured."""
        return not self.database_url


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)
