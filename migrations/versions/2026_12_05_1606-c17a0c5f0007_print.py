"""print: issue 17: bulletins, contact cards, assessments

Revision ID: c17a0c5f0007
Revises: c15a0c5f0006
Create Date: 2026-12-05 16:06:00+00:00
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401 - used once this migration has content

revision: str = 'c17a0c5f0007'
down_revision: str | None = 'c15a0c5f0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
