"""The data model: SQLAlchemy 2 + GeoAlchemy2 tables.

Every geometry is stored in EPSG:4490 (CGCS2000) with a GiST index (``area``'s includes the
plan and kind). Cells (towns, villages, grids, stations, beats) live in one table, ``area``,
keyed by the plan they belong to: a plan is a versioned set of boundaries, so redrawing a
boundary writes a new plan instead of editing one in place, and a cell's business id
(``area.business_id``) stays the same across plans.

Point objects (offices, houses, incidents, patrol points, cameras, compound entrances) carry the
ids of the cells they were assigned to and the plan those came from; an incident keeps the cells
it had at its time.
They also keep the coordinates they arrived in (``src_x, src_y, src_crs``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

SRID = 4490
AREA_KINDS = ("town", "village", "grid", "station", "beat")
#: The parent kind of each cell kind (None: top of its tree).
PARENT_KIND: dict[str, str | None] = {
    "town": None, "village": "town", "grid": "village", "station": None, "beat": "station",
}
PLAN_STATUSES = ("draft", "active", "retired")
PERSON_ROLES = ("officer", "auxiliary", "grid_worker", "volunteer")
#: The role ladder (gridsvc.domain.accounts.Role), lowest first.
TOKEN_ROLES = ("viewer", "reporter", "handler", "dispatcher", "planner", "admin")
TOKEN_KINDS = ("service", "personal")
RISK_COLOURS = ("red", "orange", "green")
ENTRANCE_KINDS = ("main", "side", "vehicle")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _point() -> Any:
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class Plan(Base):
    """A versioned set of boundaries: draft, then active from ``effective_from``, then retired."""

    __tablename__ = "plan"
    __table_args__ = (CheckConstraint(_in("status", PLAN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    effective_from: Mapped[date | None] = mapped_column(Date)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    #: Bumped by every edit, so two planners editing one draft cannot overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str | None] = mapped_column(String(32))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class Area(Base):
    """A cell of one plan: town, village, grid (governance tree) or station, beat (police tree)."""

    __tablename__ = "area"
    __table_args__ = (
        UniqueConstraint("plan_id", "kind", "business_id"),
        CheckConstraint(_in("kind", AREA_KINDS), name="kind"),
        Index(None, "plan_id", "kind", "parent_id"),
        # The spatial index includes the plan (btree_gist), so finding a plan's cells near a
        # point costs the same however many plans are stored (migration c11a0c5f0001). SQL
        # must bind the plan id as integer for it: CAST(:plan AS integer) (see cell_sql).
        Index(None, "plan_id", "kind", "geom", postgresql_using="gist"),
    )

    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    business_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    #: Business id of the parent cell (same plan, kind given by ``PARENT_KIND``).
    parent_id: Mapped[str | None] = mapped_column(String(64))
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False)


class AssignedCells:
    """Columns of a point object: the cells it was assigned to, and where it came from."""

    town_id: Mapped[str | None] = mapped_column(String(64))
    village_id: Mapped[str | None] = mapped_column(String(64))
    grid_id: Mapped[str | None] = mapped_column(String(64))
    station_id: Mapped[str | None] = mapped_column(String(64))
    beat_id: Mapped[str | None] = mapped_column(String(64))
    src_x: Mapped[float | None] = mapped_column(Float)
    src_y: Mapped[float | None] = mapped_column(Float)
    src_crs: Mapped[str | None] = mapped_column(String(32))

    @declared_attr
    def cells_plan_id(cls) -> Mapped[int | None]:  # noqa: N805 - SQLAlchemy declared_attr
        """The plan the cell ids come from."""
        return mapped_column(ForeignKey("plan.id"))


class Office(AssignedCells, Base):
    """A police office (警务室): a point with opening hours."""

    __tablename__ = "office"
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = _point()


class Compound(Base):
    """A residential compound (小区) with its risk colour and the 三无 flags."""

    __tablename__ = "compound"
    __table_args__ = (CheckConstraint(_in("risk_colour", RISK_COLOURS), name="risk_colour"),)
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    village_id: Mapped[str | None] = mapped_column(String(64))
    risk_colour: Mapped[str] = mapped_column(String(8), default="green")
    no_property_management: Mapped[bool] = mapped_column(Boolean, default=False)
    no_competent_department: Mapped[bool] = mapped_column(Boolean, default=False)
    no_security: Mapped[bool] = mapped_column(Boolean, default=False)
    households: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


class CompoundEntrance(AssignedCells, Base):
    """An entrance of a compound (小区出入口): a point on its fence, main, side or vehicle gate."""

    __tablename__ = "compound_entrance"
    __table_args__ = (CheckConstraint(_in("kind", ENTRANCE_KINDS), name="kind"),)
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: Business id of the compound (kept as text, like ``house.compound_id``).
    compound_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="main")
    geom: Mapped[Any] = _point()


class House(AssignedCells, Base):
    """A numbered house (门牌): village + number (+ sub-number, building, unit, room)."""

    __tablename__ = "house"
    __table_args__ = (
        CheckConstraint("rental_stars BETWEEN 1 AND 5", name="rental_stars"),
        Index(None, "village_id", "number"),
        # The order of a village's page (gridsvc.db.houses.list_houses): a page is read
        # straight off the index, so the row-level security predicate runs on its rows only
        # (not on the whole village before a sort).
        Index("ix_house_address_village_id_number_sub_number_business_id",
              "address_village_id", "number", text("sub_number NULLS FIRST"), "business_id"),
    )
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: The village of the address (as people say it), which may differ from the covering cell.
    address_village_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    sub_number: Mapped[int | None] = mapped_column(Integer)
    building: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(16))
    room: Mapped[str | None] = mapped_column(String(16))
    aliases: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    households: Mapped[int] = mapped_column(Integer, default=1)
    registered: Mapped[int] = mapped_column(Integer, default=0)
    residents: Mapped[int] = mapped_column(Integer, default=0)
    floating: Mapped[int] = mapped_column(Integer, default=0)
    is_rental: Mapped[bool] = mapped_column(Boolean, default=False)
    rental_stars: Mapped[int | None] = mapped_column(SmallInteger)
    compound_id: Mapped[str | None] = mapped_column(String(64))
    geom: Mapped[Any] = _point()


class Incident(AssignedCells, Base):
    """A police incident (警情). Its cell ids are those valid at ``occurred_at``, kept forever."""

    __tablename__ = "incident"
    # Partitioned by month of occurred_at (migration c16a0c5f0002): a partitioned table's keys
    # must hold the partition key, so occurred_at is part of the primary key and the unique id.
    __table_args__ = (UniqueConstraint("business_id", "occurred_at"),
                      {"postgresql_partition_by": "RANGE (occurred_at)"})
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True,
                                                  index=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = _point()


class PatrolPoint(AssignedCells, Base):
    """A must-patrol point (必巡点); level 1 is set by the station, level 2 by the beat."""

    __tablename__ = "patrol_point"
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(SmallInteger, default=2)
    geom: Mapped[Any] = _point()


class Camera(AssignedCells, Base):
    """A camera (监控点位): its coverage is a sector from heading, field of view and range."""

    __tablename__ = "camera"
    __table_args__ = (
        CheckConstraint("heading_deg >= 0 AND heading_deg < 360", name="heading"),
        CheckConstraint("fov_deg > 0 AND fov_deg <= 360", name="fov"),
        CheckConstraint("range_m > 0", name="range"),
    )
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    heading_deg: Mapped[float] = mapped_column(Float)
    fov_deg: Mapped[float] = mapped_column(Float)
    range_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = _point()


class Road(Base):
    """A road of the road layer (walking distances, 'along roads' boundaries)."""

    __tablename__ = "road"
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    road_class: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False)


class Person(Base):
    """A person linked to cells: community officer, auxiliary, grid worker or volunteer.

    Only what the job needs is stored: name, role, phone.
    """

    __tablename__ = "person"
    __table_args__ = (CheckConstraint(_in("role", PERSON_ROLES), name="role"),)
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    office_id: Mapped[str | None] = mapped_column(String(64))


class PersonArea(Base):
    """A person's responsibility for a cell (by business id, so it survives redrawn boundaries)."""

    __tablename__ = "person_area"
    __table_args__ = (
        CheckConstraint(_in("kind", AREA_KINDS), name="kind"),
        Index(None, "kind", "area_id"),
    )
    person_pk: Mapped[int] = mapped_column(
        ForeignKey("person.pk", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    area_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once, at creation.

    It belongs to an account: a service token (machines) to the machine account, a personal
    token (a person's scripts) to that person's account, whose scope it has.
    """

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(_in("role", TOKEN_ROLES), name="role"),
                      CheckConstraint(_in("kind", TOKEN_KINDS), name="kind"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="service")
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, to tell tokens apart in listings.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditLog(Base):
    """Append-only log of every change: who, when, what, before/after.

    A trigger (see the first migration) rejects UPDATE, DELETE and TRUNCATE on this table.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


# The tables of each capability live in their own module on the same Base; importing them here
# registers them with the metadata (migrations' drift check, create_all in tests).
from gridsvc.db import model_accounts, model_duty, model_events, model_print  # noqa: E402, F401
