"""Routes of the accounts work (placeholder: the router is registered in app.py)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
