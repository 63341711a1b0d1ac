"""hardening: issue 11: cost independent of history (plan-keyed indexes)

Revision ID: c11a0c5f0001
Revises: b7a1a2de0007
Create Date: 2026-12-05 16:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401 - used once this migration has content

revision: str = 'c11a0c5f0001'
down_revision: str | None = 'b7a1a2de0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
