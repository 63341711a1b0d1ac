"""duty_maps: issue 14: duty on the map, patrol reports

Revision ID: d14a0c5f0009
Revises: d13a0c5f0008
Create Date: 2026-12-05 19:01:00+00:00
"""

from collections.abc import Sequence

revision: str = 'd14a0c5f0009'
down_revision: str | None = 'd13a0c5f0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
