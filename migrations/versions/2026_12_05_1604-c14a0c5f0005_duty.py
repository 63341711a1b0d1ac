"""duty: issue 14: shifts, patrol check-ins, responsibility fields

Revision ID: c14a0c5f0005
Revises: c13a0c5f0004
Create Date: 2026-12-05 16:04:00+00:00
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401 - used once this migration has content

revision: str = 'c14a0c5f0005'
down_revision: str | None = 'c13a0c5f0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
