"""``/api/v1/audit``: the append-only audit log, for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import require
from gridsvc.domain.accounts import Role
from gridsvc.services.audit import recent_entries

router = APIRouter(prefix="/api/v1/audit", tags=["audit"],
                   dependencies=[Depends(require(Role.admin))])


@router.get("", summary="The newest audit entries: who, when, what, before and after")
async def list_audit(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    rows = await run_in_threadpool(recent_entries, request.app.state.engine, limit)
    return jsonable_encoder(rows)
