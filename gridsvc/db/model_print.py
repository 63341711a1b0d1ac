"""Tables of the print work (ORM classes on :class:`gridsvc.db.models.Base`).

- ``prevention_advice``: the prevention advice (防范提示) printed under a bulletin's leading
  categories, one text per incident category, edited by an admin (seeded by the migration).
- ``incident_solved``: a case solved (破案), recorded against an incident's business id. Solving
  is optional bookkeeping: a bulletin says "not recorded" when its area has no such rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.db.models import Base


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
