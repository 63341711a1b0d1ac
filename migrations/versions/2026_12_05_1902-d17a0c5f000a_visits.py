"""visits: issue 17: house visits, assessments from events

Revision ID: d17a0c5f000a
Revises: d14a0c5f0009
Create Date: 2026-12-05 19:02:00+00:00
"""

from collections.abc import Sequence

revision: str = 'd17a0c5f000a'
down_revision: str | None = 'd14a0c5f0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
