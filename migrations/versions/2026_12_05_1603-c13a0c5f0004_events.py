"""events: issue 13: events, routing, time limits

Revision ID: c13a0c5f0004
Revises: c12a0c5f0003
Create Date: 2026-12-05 16:03:00+00:00
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401 - used once this migration has content

revision: str = 'c13a0c5f0004'
down_revision: str | None = 'c12a0c5f0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
