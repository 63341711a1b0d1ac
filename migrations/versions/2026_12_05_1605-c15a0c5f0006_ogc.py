"""ogc: issue 15: OGC API Features

Revision ID: c15a0c5f0006
Revises: c14a0c5f0005
Create Date: 2026-12-05 16:05:00+00:00
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401 - used once this migration has content

revision: str = 'c15a0c5f0006'
down_revision: str | None = 'c14a0c5f0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
