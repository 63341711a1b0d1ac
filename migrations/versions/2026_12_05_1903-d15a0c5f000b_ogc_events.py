"""ogc_events: issue 15: events as an OGC collection, leftovers of 11

Revision ID: d15a0c5f000b
Revises: d17a0c5f000a
Create Date: 2026-12-05 19:03:00+00:00
"""

from collections.abc import Sequence

revision: str = 'd15a0c5f000b'
down_revision: str | None = 'd17a0c5f000a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """No schema change: /ogc serves the ``event`` table as it is (its primary key ``id``, its
    ``business_id`` and ``created_at`` indexes, its row-level security policy), and the
    proposals' time budget is a setting."""


def downgrade() -> None:
    """Nothing to undo (see :func:`upgrade`)."""
