"""``POST /api/v1/plans/proposals``: N balanced grids or beats as a new draft (planners).

A draft changes nothing in effect, so the proposal is written by default (201 with the draft's
id); ``"commit": false`` only computes it (200). The search has a time budget (the setting
``GRIDSVC_PROPOSAL_BUDGET_SECONDS``): past it the best proposal found is answered, with
``stopped_early`` true. Registered before the plans router, so
``proposals`` is never read as a plan id.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import BIGINT_MAX, Id
from gridsvc.domain.accounts import Role
from gridsvc.services import proposals

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])


class ProposalRequest(BaseModel):
    """What to divide, into how many cells of which kind."""

    model_config = ConfigDict(extra="forbid")

    parent_kind: Literal["village", "town", "station"] = Field(
        description="a village into grids; a town into grids (shared among its villages) or "
                    "beats; a station area into beats")
    parent_id: Id = Field(description="the parent's business id")
    n: int = Field(ge=1, le=proposals.MAX_N, description="how many cells to propose")
    kind: Literal["grid", "beat"] = "grid"
    seed: int = Field(0, ge=0, le=BIGINT_MAX, description="seed of the search: same data and seed, "
                                           "same proposal")
    commit: bool = Field(True, description="write the draft; false: only compute it")


@router.post("/proposals", summary="Propose N balanced grids or beats as a new draft plan",
             responses={201: {"description": "the draft was written"}})
async def propose(
    request: Request,
    response: Response,
    body: ProposalRequest,
    principal: Annotated[Principal, Depends(require(Role.planner))],
) -> dict[str, Any]:
    engine = request.app.state.engine
    budget = request.app.state.settings.proposal_budget_seconds
    summary = await run_in_threadpool(lambda: proposals.propose(
        engine, parent_kind=body.parent_kind, parent_id=body.parent_id, n=body.n,
        kind=body.kind, seed=body.seed, commit=body.commit, actor=principal.name,
        budget_s=budget))
    response.status_code = 201 if summary["committed"] else 200
    return summary
