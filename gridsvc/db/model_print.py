"""Tables of the print work (ORM classes on :class:`gridsvc.db.models.Base`).

- ``prevention_advice``: the prevention advice (防范提示) printed under a bulletin's leading
  categories, one text per incident category, edited by an admin (seeded by the migration).
- ``incident_solved``: a case solved (破案), recorded against an incident's business id. Solving
  is optional bookkeeping: a bulletin says "not recorded" when its area has no such rows.
"""

from __future__ import annotations

from datetime import date, datetime
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
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.db.models import SRID, AssignedCells, Base


class PreventionAdvice(Base):
    """The advice printed for one incident category (the text an admin edits)."""

    __tablename__ = "prevention_advice"
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    advice: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class IncidentSolved(Base):
    """An incident whose case was solved, and on which day (local date)."""

    __tablename__ = "incident_solved"
    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    solved_on: Mapped[date] = mapped_column(Date, index=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class HouseVisit(AssignedCells, Base):
    """A visit to a house (走访): who, which house, when (the phone's clock), a note, and where
    the phone was if it had a fix (``geom``, CGCS2000, with its accuracy; optional). The cell
    columns are the house's when the visit was recorded (row-level security filters on them)."""

    __tablename__ = "house_visit"
    __table_args__ = (
        CheckConstraint("accuracy_m IS NULL OR accuracy_m >= 0", name="accuracy"),
        Index(None, "person_pk", "visited_at"),
        Index(None, "house_id", "visited_at"),
    )
    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: Made by the phone (or the CLI): a resend is found instead of counted twice.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("person.pk", ondelete="CASCADE"))
    #: The account that sent it (nullable: tokens without an account, the CLI, the demo).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"))
    #: The house's business id.
    house_id: Mapped[str] = mapped_column(String(64))
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    server_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp())
    note: Mapped[str | None] = mapped_column(Text)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True),
                                      nullable=True)
