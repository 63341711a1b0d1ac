"""Tables of the duty work (issue 14): duty groups and their rotations, the materialised duty
intervals, patrol rounds and check-ins, and responsibility fields (责任田).

Every table is under row-level security (see the migration): duty tables by the station they
belong to, check-ins by the cells of their patrol point (or sent by the account asking).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.db.models import SRID, AssignedCells, Base, _in

DUTY_KINDS = ("main", "second", "standby")
CHANGE_KINDS = ("swap", "leave", "substitute", "extra")


class DutyGroup(Base):
    """A station's duty group (值班组): its members rotate through main, second and standby."""

    __tablename__ = "duty_group"
    __table_args__ = (UniqueConstraint("station_id", "code"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    #: The group's leader (带班领导): answers for a beat when no member linked to one is on duty.
    leader_pk: Mapped[int | None] = mapped_column(ForeignKey("person.pk", ondelete="SET NULL"))


class DutyMember(Base):
    """A person in a duty group (one group at a time)."""

    __tablename__ = "duty_member"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("duty_group.id", ondelete="CASCADE"), primary_key=True)
    person_pk: Mapped[int] = mapped_column(
        ForeignKey("person.pk", ondelete="CASCADE"), primary_key=True, unique=True)


class DutyRule(Base):
    """A group's recurring duty of one kind: RFC 5545 RRULE from ``dtstart`` (local wall time
    of ``zone``), ``minutes`` long, for occurrences starting in ``[valid_from, valid_until)``."""

    __tablename__ = "duty_rule"
    __table_args__ = (
        CheckConstraint(_in("kind", DUTY_KINDS), name="kind"),
        CheckConstraint("minutes BETWEEN 1 AND 2880", name="minutes"),
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="valid"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("duty_group.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    dtstart: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    zone: Mapped[str] = mapped_column(String(64))
    rrule: Mapped[str] = mapped_column(Text)
    minutes: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class DutyChange(Base):
    """An exception to the rules: a swap of two groups on a day, a person's leave, a substitute
    standing in for a person, or a one-off extra duty. Withdrawn changes stay, marked."""

    __tablename__ = "duty_change"
    __table_args__ = (
        CheckConstraint(_in("kind", CHANGE_KINDS), name="kind"),
        CheckConstraint("duty_kind IS NULL OR " + _in("duty_kind", DUTY_KINDS),
                        name="duty_kind"),
        CheckConstraint(
            "(kind = 'swap' AND day IS NOT NULL AND group_id IS NOT NULL"
            " AND other_group_id IS NOT NULL AND group_id <> other_group_id)"
            " OR (kind = 'leave' AND person_pk IS NOT NULL AND during IS NOT NULL)"
            " OR (kind = 'substitute' AND person_pk IS NOT NULL AND other_person_pk IS NOT NULL"
            " AND person_pk <> other_person_pk AND during IS NOT NULL)"
            " OR (kind = 'extra' AND person_pk IS NOT NULL AND duty_kind IS NOT NULL"
            " AND during IS NOT NULL)", name="fields"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date | None] = mapped_column(Date)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("duty_group.id", ondelete="CASCADE"))
    other_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("duty_group.id", ondelete="CASCADE"))
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("person.pk", ondelete="CASCADE"))
    other_person_pk: Mapped[int | None] = mapped_column(
        ForeignKey("person.pk", ondelete="CASCADE"))
    duty_kind: Mapped[str | None] = mapped_column(String(16))
    during: Mapped[Range[datetime] | None] = mapped_column(TSTZRANGE)
    note: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DutyInterval(Base):
    """A materialised stretch of duty: a group's (``person_pk`` NULL) or a person's.

    The past is never rewritten: re-materialising after a change of rules deletes and inserts
    only intervals from the moment of the change on, so "who was on duty at T" stays exact for
    any past T. The exclusion constraint makes two groups holding main duty at once impossible.
    """

    __tablename__ = "duty_interval"
    __table_args__ = (
        CheckConstraint(_in("kind", DUTY_KINDS), name="kind"),
        CheckConstraint("group_id IS NOT NULL OR person_pk IS NOT NULL", name="holder"),
        CheckConstraint("NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)",
                        name="during"),
        Index(None, "during", postgresql_using="gist"),
        Index(None, "person_pk", "station_id"),
        ExcludeConstraint(("station_id", "="), ("during", "&&"), using="gist",
                          where=text("kind = 'main' AND person_pk IS NULL"),
                          name="ex_duty_interval_one_main"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("duty_group.id", ondelete="CASCADE"))
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("person.pk", ondelete="CASCADE"))
    during: Mapped[Range[datetime]] = mapped_column(TSTZRANGE)
    #: Where it came from: ``rule:<id>``, ``swap:<id>``, ``substitute:<id>``, ``extra:<id>``.
    source: Mapped[str] = mapped_column(String(32))


class PatrolRound(Base):
    """A station's patrol round (巡逻轮次): a daily window, e.g. 22:00-06:00 (``ends`` not after
    ``starts``: it crosses midnight). It closes at its end plus the grace of the settings."""

    __tablename__ = "patrol_round"
    __table_args__ = (UniqueConstraint("station_id", "code"),
                      CheckConstraint("starts <> ends", name="window"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class PatrolRequirement(Base):
    """How many visits a patrol point (by business id) needs in each occurrence of a round."""

    __tablename__ = "patrol_requirement"
    __table_args__ = (CheckConstraint("visits BETWEEN 1 AND 24", name="visits"),)
    point_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_round.id", ondelete="CASCADE"), primary_key=True, index=True)
    station_id: Mapped[str] = mapped_column(String(64))
    visits: Mapped[int] = mapped_column(SmallInteger)


class PatrolCheckIn(AssignedCells, Base):
    """A check-in at a patrol point (巡逻打卡): who, where the phone was (``geom``, CGCS2000,
    with its accuracy), the device's clock and the server's. ``at`` is the time that counts: the
    device's, unless it is ahead of the server's beyond the allowed skew. The cell columns are
    those of the patrol point (row-level security filters on them)."""

    __tablename__ = "patrol_check_in"
    __table_args__ = (
        CheckConstraint("accuracy_m >= 0", name="accuracy"),
        Index(None, "person_pk", "at"),
        Index(None, "station_id", "at"),
        # One shift of every station (the command centre's map, the city's patrol report).
        Index(None, "at"),
    )
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("person.pk", ondelete="CASCADE"))
    #: The account that sent it (nullable: tokens without an account, the demo).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"))
    point_id: Mapped[str] = mapped_column(String(64), index=True)
    device_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    server_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp())
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accuracy_m: Mapped[float] = mapped_column(Float)
    #: Geodesic distance from the phone to the point when it was received.
    distance_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True),
                                      nullable=False)


class ResponsibilityField(Base):
    """A village in an officer's responsibility field (责任田)."""

    __tablename__ = "responsibility_field"
    person_pk: Mapped[int] = mapped_column(
        ForeignKey("person.pk", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    station_id: Mapped[str] = mapped_column(String(64))
    assigned_by: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
