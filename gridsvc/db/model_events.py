"""Tables of the events work (issue 13): the catalogue, the routing table and time limits an
admin edits, the events themselves, their history and their photos.

An event carries the cells of the plan in effect when it was reported
(:class:`~gridsvc.db.models.AssignedCells`), so row-level security scopes it like any other
point; while it is open, a plan taking effect moves it to the new cells (and re-routes it, a
``reroute`` row in its history keeping the cells before); once final it keeps its cells for good.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.db.models import AssignedCells, Base, _in, _point

GRADES = ("general", "major", "serious", "urgent")
STATES = ("reported", "accepted", "rejected", "dispatched", "in_hand", "returned", "handled",
          "verified", "closed")
OPEN_STATES = tuple(s for s in STATES if s not in ("rejected", "closed"))
LEVELS = ("grid", "village", "town", "county")
ACTIONS = ("report", "accept", "reject", "dispatch", "start", "return", "handle", "verify",
           "reopen", "close", "escalate", "reroute", "edit")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
#: The partial index predicate of open events (the lists, the overdue sweep).
OPEN_SQL = _in("state", OPEN_STATES)


class EventCategory(Base):
    """An entry of the two-level catalogue (``parent_code`` None: top level)."""

    __tablename__ = "event_category"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("event_category.code"))
    description: Mapped[str] = mapped_column(Text, server_default="")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")


class EventConfig(Base):
    """One row: ``version`` moves with every change of the catalogue, the routing table or the
    limits (a statement trigger on each, in the changing transaction), so a service process
    keeps them in memory and checks one number per report."""

    __tablename__ = "event_config"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")


class EventRule(Base):
    """A row of the routing table (:class:`gridsvc.domain.events.routing.Rule`)."""

    __tablename__ = "event_rule"
    __table_args__ = (CheckConstraint(_in("min_grade", GRADES), name="min_grade"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    min_grade: Mapped[str] = mapped_column(String(16))
    unit_kind: Mapped[str] = mapped_column(String(16))
    unit_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    #: ``[[kind, [role, ...]], ...]``: who else is told.
    also: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")


class EventLimit(Base):
    """Hours an event may stay in a state, per category prefix (``*``: any) and grade."""

    __tablename__ = "event_limit"
    __table_args__ = (UniqueConstraint("category", "grade", "state"),
                      CheckConstraint(_in("grade", GRADES), name="grade"),
                      CheckConstraint("hours > 0", name="hours"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(64))
    grade: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    hours: Mapped[float] = mapped_column(Float)


class Event(AssignedCells, Base):
    """A reported event (事件) and where it is in the loop."""

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(_in("grade", GRADES), name="grade"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("level", LEVELS), name="level"),
        # A grid's open events, newest first: the workers' list. It carries the columns the
        # event policy reads, so the page and its count are answered from the index.
        Index("ix_event_open_grid_cover", "grid_id", "created_at", "id",
              postgresql_include=["town_id", "village_id", "station_id", "beat_id",
                                  "reporter_account_id"],
              postgresql_where=text(OPEN_SQL)),
        # Open events by deadline: the overdue list and the sweep.
        Index("ix_event_open_expected", "expected_at", postgresql_where=text(OPEN_SQL)),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(ForeignKey("event_category.code"), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), server_default="reported")
    level: Mapped[str] = mapped_column(String(16), server_default="grid")
    description: Mapped[str] = mapped_column(Text)
    parties: Mapped[str | None] = mapped_column(Text)
    house_id: Mapped[str | None] = mapped_column(String(64))
    compound_id: Mapped[str | None] = mapped_column(String(64))
    reporter: Mapped[str] = mapped_column(String(200))
    reporter_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    #: The routing's outcome (:meth:`gridsvc.domain.events.routing.Routing.as_dict` + people).
    routing: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    unit_kind: Mapped[str | None] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    near_boundary: Mapped[bool] = mapped_column(Boolean, server_default="false")
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    #: When the current step's time limit passes (None: a final state or no limit).
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: A deadline was missed before the event was handled (按期处置率 counts the others).
    late: Mapped[bool] = mapped_column(Boolean, server_default="false")
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: When it became final (closed or rejected).
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    #: ``<account id>:<client's key>``: a retried report is found instead of made again.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    geom: Mapped[Any] = _point()


class EventTransition(Base):
    """One step of an event's history: who, when, the action, the states and levels before and
    after, the note (or reason) and the photos attached."""

    __tablename__ = "event_transition"
    __table_args__ = (CheckConstraint(_in("action", ACTIONS), name="action"),
                      Index(None, "event_id", "id"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp())
    actor: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[str | None] = mapped_column(String(16))
    to_level: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    #: Photo ids attached to this step.
    attachments: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    #: What else changed (routing or cells before and after, for a reroute).
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class EventPhoto(Base):
    """A photo of an event: its bytes live in the data folder under their SHA-256."""

    __tablename__ = "event_photo"
    __table_args__ = (CheckConstraint(_in("media_type", PHOTO_TYPES), name="media_type"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
