"""Routes of the open311 work (placeholder: the router is registered in app.py)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
