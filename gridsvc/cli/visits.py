"""``gridsvc visits``: record a house visit (走访) and list visits.

Thin commands over :mod:`gridsvc.services.visits`, run as the owner (no scope); answers are
printed as JSON.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import typer

from gridsvc.cli.common import actor, engine, handle_errors, settings

app = typer.Typer(help="House visits (走访): record one, list them.", no_args_is_help=True)


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=1, default=str))


@app.command()
@handle_errors
def add(house: str = typer.Option(..., "--house", help="the house's id"),
        person: str = typer.Option(..., "--person", help="who visited (a person's id)"),
        at: str = typer.Option(None, "--at", help="when, e.g. 2026-11-30T15:10 (the "
                                                  "station's wall time unless it has a zone; "
                                                  "default now)"),
        note: str = typer.Option(None, "--note", help="what was found"),
        key: str = typer.Option(None, "--key", help="idempotency key: the same key again "
                                                    "records nothing new (default: a new one)"),
        ) -> None:
    """Record that a person visited a house."""
    from zoneinfo import ZoneInfo

    from gridsvc.errors import InvalidInput, Problem
    from gridsvc.services.visits import record_visit

    zone = ZoneInfo(settings().duty.zone)
    try:
        when = datetime.fromisoformat(at) if at else datetime.now(zone)
    except ValueError:
        raise InvalidInput([Problem(f"not a date-time: {at!r}", field="at")]) from None
    made, new = record_visit(engine(), house_id=house, person_id=person,
                             visited_at=when if when.tzinfo else when.replace(tzinfo=zone),
                             key=key or f"cli-{uuid.uuid4()}", note=note, actor=actor())
    _print({**made, "new": new})


@app.command("list")
@handle_errors
def list_(person: str = typer.Option(None, "--person", help="one person's visits"),
          house: str = typer.Option(None, "--house", help="one house's visits"),
          first: datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"],
                                         help="first day"),
          last: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"],
                                        help="last day (included)"),
          limit: int = typer.Option(100, "--limit", min=1, max=10_000)) -> None:
    """Visits, newest first."""
    from gridsvc.services.visits import list_visits

    _print(list_visits(engine(), person_id=person, house_id=house,
                       first=first.date() if first else None,
                       last=last.date() if last else None, zone=settings().duty.zone,
                       limit=limit))
