"""``gridsvc events list|show|report|transition|sweep|summary``: thin commands over
:mod:`gridsvc.services.events` (as the database owner: every event, recorded as the CLI user)."""

from __future__ import annotations

import json
from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from gridsvc.cli.common import actor, engine, handle_errors, settings

app = typer.Typer(help="Events: report, follow through the loop, sweep overdue, summaries.",
                  no_args_is_help=True)


def _json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@app.command("list")
@handle_errors
def list_(
    state: list[str] = typer.Option([], help="a state (repeat for several)"),
    grid: str | None = typer.Option(None, help="a grid's business id"),
    category: str | None = typer.Option(None, help="a category code (and its sub-categories)"),
    overdue: bool = typer.Option(False, "--overdue", help="only open events past the deadline"),
    open_only: bool = typer.Option(False, "--open", help="only open events"),
    limit: int = typer.Option(50, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List events, newest first (overdue: longest overdue first)."""
    from gridsvc.services import events

    found = events.list_events(engine(), state=state or None, grid_id=grid, category=category,
                               overdue=True if overdue else None, open_only=open_only,
                               limit=limit)
    if as_json:
        _json(found)
        return
    table = Table("id", "business id", "category", "grade", "state", "level", "grid",
                  "expected", "overdue", title=f"{found['total']} event(s)")
    for e in found["items"]:
        table.add_row(str(e["id"]), e["business_id"], e["category"], e["grade"], e["state"],
                      e["level"], e["grid_id"] or "",
                      e["expected_at"].isoformat(timespec="minutes") if e["expected_at"] else "",
                      "yes" if e["overdue"] else "")
    Console().print(table)


@app.command()
@handle_errors
def show(event_id: int = typer.Argument(..., min=1)) -> None:
    """One event with its whole history, as JSON."""
    from gridsvc.services import events

    _json(events.get_event(engine(), event_id))


@app.command()
@handle_errors
def report(
    category: str = typer.Option(..., help="a category code, e.g. dispute.neighbour"),
    description: str = typer.Option(..., help="what happened"),
    grade: str = typer.Option("general",
                              help="general|major|serious|urgent or 一般/较大/重大/紧急"),
    lon: float | None = typer.Option(None, help="x in --crs"),
    lat: float | None = typer.Option(None, help="y in --crs"),
    crs: str = typer.Option("4326", help="CRS of lon/lat (EPSG code, gcj02, bd09...)"),
    house: str | None = typer.Option(None, help="a house as a caller says it: 东灌底村203号"),
    compound: str | None = typer.Option(None, help="a compound's business id"),
    parties: str | None = typer.Option(None, help="who is involved"),
    key: str | None = typer.Option(None, help="an idempotency key: a retry makes nothing new"),
) -> None:
    """Report an event (placed by lon/lat, a house or a compound); prints it as JSON."""
    from gridsvc.services import events

    made, created = events.create_event(
        engine(), {"category": category, "grade": grade, "description": description,
                   "parties": parties, "lon": lon, "lat": lat, "crs": crs, "house": house,
                   "compound_id": compound},
        actor=actor(), account_id=None, idempotency_key=key,
        near_boundary_m=settings().events_near_boundary_m,
        working_hours=events.calendar(settings()))
    if not created:
        typer.echo("(reported before with this key)", err=True)
    _json(made)


@app.command()
@handle_errors
def transition(
    event_id: int = typer.Argument(..., min=1),
    action: str = typer.Argument(..., help="accept, reject, dispatch, start, return, handle, "
                                           "verify, reopen, close, escalate or reroute"),
    note: str | None = typer.Option(None),
    reason: str | None = typer.Option(None, help="needed for reject, return, reopen, escalate"),
    version: int | None = typer.Option(None, help="the version you read (else: any)"),
) -> None:
    """Move an event along the loop; prints its new state and level."""
    from gridsvc.services import events

    done = events.transition(engine(), event_id, action, actor=actor(), account_id=None,
                             note=note, reason=reason, version=version,
                             working_hours=events.calendar(settings()))
    typer.echo(f"event {done['business_id']}: {done['state']} at {done['level']} "
               f"(version {done['version']})")


@app.command()
@handle_errors
def sweep(limit: int = typer.Option(2000, min=1, help="most events escalated in one go")
          ) -> None:
    """Escalate open events past their time limit now (the service does it periodically)."""
    from gridsvc.services import events

    done = events.sweep(engine(), limit=limit, working_hours=events.calendar(settings()))
    if done["skipped"]:
        typer.echo("another sweep is running; nothing done")
        return
    typer.echo(f"{len(done['escalated'])} escalated, {done['late_at_top']} overdue at the "
               "county marked late")


@app.command()
@handle_errors
def summary(
    day: str | None = typer.Option(None, help="YYYY-MM-DD (default: today, Asia/Shanghai)"),
    level: str = typer.Option("grid", help="town, village, grid, station or beat"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The daily summary per cell: 上报, 化解, 在办, 超期."""
    from gridsvc.errors import InvalidInput, Problem
    from gridsvc.services import events

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInput([Problem("give the day as YYYY-MM-DD", field="day")]) from None
    rows = events.daily_summary(engine(), when, level=level)
    if as_json:
        _json(rows)
        return
    table = Table(level, "name", "上报", "化解", "在办", "超期",
                  title=f"{rows[0]['day'] if rows else (day or 'today')}")
    for r in rows:
        table.add_row(r["cell_id"] or "-", r["name"] or "", str(r["reported"]),
                      str(r["resolved"]), str(r["open"]), str(r["overdue"]))
    Console().print(table)
