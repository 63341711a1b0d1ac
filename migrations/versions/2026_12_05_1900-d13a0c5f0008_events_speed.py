"""events_speed: issue 13: intake and re-routing at speed

Revision ID: d13a0c5f0008
Revises: c17a0c5f0007
Create Date: 2026-12-05 19:00:00+00:00
"""

from collections.abc import Sequence

revision: str = 'd13a0c5f0008'
down_revision: str | None = 'c17a0c5f0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
