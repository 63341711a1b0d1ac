"""Printed products: weekly bulletins, the advice printed on them, solved cases, contact cards
and assessments (PDF, HTML, CSV, XLSX).

Every page is built from the current data on each request (nothing is cached), as the caller
sees it: the engine is the request's, scoped to the caller's cells.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from gridsvc.api.auth import Principal, require
from gridsvc.api.fields import BusinessId, Text, text
from gridsvc.domain.accounts import Role
from gridsvc.services import assessments, bulletins, cards

router = APIRouter(prefix="/api/v1", tags=["print"])

YEAR = r"(19\d\d|[2-8]\d\d\d|9000)"
WEEK = Query(pattern=rf"^{YEAR}-W(0[1-9]|[1-4]\d|5[0-3])$",
             description="ISO week, e.g. 2026-W48 (years 1900 to 9000)",
             examples=["2026-W48"])
Category = Annotated[Text, Path(min_length=1, max_length=64,
                                description="an incident category, e.g. 盗窃")]
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


class AreaKind(StrEnum):
    beat = "beat"
    office = "office"
    station = "station"


class PageFormat(StrEnum):
    pdf = "pdf"
    html = "html"


def _file(content: bytes, fmt: str, name: str) -> Response:
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    disposition = "attachment" if fmt == "pdf" else "inline"
    return Response(content, media_type=media, headers={
        "Content-Disposition": f'{disposition}; filename="{name}.{fmt}"',
        "Cache-Control": "private, no-store"})


@router.get("/bulletins/{kind}/{area_id}", summary="A weekly bulletin (警情公告) as A4 PDF or HTML",
            dependencies=[Depends(require(Role.viewer))],
            responses={200: {"description": "the bulletin",
                             "content": {**PDF, "text/html": {"schema": {"type": "string"}}}}})
async def bulletin(
    request: Request, kind: AreaKind, area_id: BusinessId,
    week: Annotated[str, WEEK],
    format: Annotated[PageFormat, Query(description="pdf (A4, fonts embedded) or html")]
    = PageFormat.pdf,
    previous_weeks: Annotated[int, Query(ge=1, le=26, description="weeks compared against")] = 4,
) -> Response:
    zone = request.app.state.settings.duty.zone

    def make() -> bytes:
        made = bulletins.bulletin(request.app.state.engine, kind.value, area_id, week,
                                  previous_weeks=previous_weeks, zone=zone)
        return bulletins.render(made, format.value, zone)

    content = await run_in_threadpool(make)
    return _file(content, format.value, f"bulletin-{area_id}-{week}")


@router.get("/bulletin-advice", summary="The prevention advice printed per incident category",
            dependencies=[Depends(require(Role.viewer))])
async def list_advice(request: Request) -> list[dict[str, Any]]:
    rows = await run_in_threadpool(bulletins.list_advice, request.app.state.engine)
    return [{**r, "updated_at": r["updated_at"].isoformat()} for r in rows]


class AdviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advice: text(2000, 1)


@router.put("/bulletin-advice/{category}", summary="Set the advice printed for a category")
async def put_advice(request: Request, category: Category, body: AdviceIn,
                     principal: Annotated[Principal, Depends(require(Role.admin))]
                     ) -> dict[str, Any]:
    return await run_in_threadpool(lambda: bulletins.set_advice(
        request.app.state.engine, category, body.advice, actor=principal.name))


@router.delete("/bulletin-advice/{category}", status_code=204,
               summary="Remove a category's advice (its bulletins then print none)")
async def delete_advice(request: Request, category: Category,
                        principal: Annotated[Principal, Depends(require(Role.admin))]
                        ) -> Response:
    await run_in_threadpool(lambda: bulletins.delete_advice(
        request.app.state.engine, category, actor=principal.name))
    return Response(status_code=204)


@router.put("/incidents/{incident_id}/solved",
            summary="Record that an incident's case was solved (破案), for the bulletins")
async def mark_solved(
    request: Request, incident_id: BusinessId,
    solved_on: Annotated[date, Body(embed=True, description="the local date it was solved")],
    principal: Annotated[Principal, Depends(require(Role.handler))],
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: bulletins.mark_solved(
        request.app.state.engine, incident_id, solved_on, actor=principal.name))


@router.get("/contact-cards/{village_id}",
            summary="A village's contact cards (警民联系卡): A4 PDF, 8 cards a page, crop marks",
            # handler: the cards carry people's phones, which a viewer is not shown elsewhere.
            dependencies=[Depends(require(Role.handler))],
            responses={200: {"description": "the cards, built from the current data",
                             "content": PDF}})
async def contact_cards(request: Request, village_id: BusinessId) -> Response:
    content = await run_in_threadpool(cards.village_cards_pdf, request.app.state.engine,
                                      village_id)
    return _file(content, "pdf", f"cards-{village_id}")


class Level(StrEnum):
    officer = "officer"
    grid_worker = "grid_worker"
    grid = "grid"
    beat = "beat"
    station = "station"


class TableFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/assessments/{level}",
            summary="Assessment (考核) of every officer, grid worker, grid, beat or station",
            # dispatcher (station leaders): an assessment rates named people.
            dependencies=[Depends(require(Role.dispatcher))],
            responses={200: {"description": "the table", "content": {
                "application/json": {}, "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}}, **PDF}}})
async def assessment(
    request: Request, level: Level,
    period: Annotated[str, Query(pattern=rf"^{YEAR}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$",
                                 description="2026-11 (month), 2026-Q4, 2026-H2 or 2026",
                                 examples=["2026-11"])],
    format: Annotated[TableFormat, Query(description="json, csv, xlsx or pdf")]
    = TableFormat.json,
) -> Any:
    from gridsvc.printing import table

    settings = request.app.state.settings
    report = await run_in_threadpool(lambda: assessments.assessment(
        request.app.state.engine, level.value, period, assess=settings.assess,
        duty=settings.duty))
    if format is TableFormat.json:
        return report
    content = await run_in_threadpool(table.render, report, format.value)
    media = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "pdf": "application/pdf"}
    return Response(content, media_type=media[format.value], headers={
        "Content-Disposition": f'attachment; filename="assessment-{level.value}-{period}.'
                               f'{format.value}"', "Cache-Control": "private, no-store"})
