"""compound entrances (camera coverage of entrances)

Revision ID: b5c0e1a7e005
Revises: 6ab93326c3f4
Create Date: 2026-11-24 02:20:00+00:00
"""

from collections.abc import Sequence

revision: str = 'b5c0e1a7e005'
down_revision: str | None = '6ab93326c3f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Filled in by the compound-entrance change."""


def downgrade() -> None:
    """Filled in by the compound-entrance change."""
