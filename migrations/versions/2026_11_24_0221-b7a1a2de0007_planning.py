"""planning: drafts, edits, activation

Revision ID: b7a1a2de0007
Revises: b5c0e1a7e005
Create Date: 2026-11-24 02:21:00+00:00
"""

from collections.abc import Sequence

revision: str = 'b7a1a2de0007'
down_revision: str | None = 'b5c0e1a7e005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Filled in by the planning change (no schema change needed yet)."""


def downgrade() -> None:
    """Filled in by the planning change (no schema change needed yet)."""
