"""Tables of the print work (ORM classes on :class:`gridsvc.db.models.Base`)."""

from __future__ import annotations
