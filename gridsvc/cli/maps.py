"""``gridsvc map``: the command-centre map pages written to self-contained HTML files.

A written page carries Leaflet and its plugins inline, so it opens from a USB stick on a PC of
the police intranet with no server and no internet.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from gridsvc.cli.common import engine, handle_errors, settings
from gridsvc.errors import InvalidInput, Problem

app = typer.Typer(help="Map pages (coverage, risk, incidents, plan) as self-contained HTML.",
                  no_args_is_help=True)

OUTPUT = typer.Option(..., "--output", "-o", help="the .html file to write")
AS_OF = typer.Option(None, "--as-of", formats=["%Y-%m-%d"],
                     help="the plan in effect on this date (default: today)")
DAYS = typer.Option(None, "--days", min=1, max=3660,
                    help="window length in days, ending on --until (default: settings, 90)")
SINCE = typer.Option(None, "--since", formats=["%Y-%m-%d"], help="first day of the window")
UNTIL = typer.Option(None, "--until", formats=["%Y-%m-%d"],
                     help="last day of the window (default: today)")
CATEGORY = typer.Option(None, "--category", help="only incidents of this category")


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _write(text: str, output: Path) -> None:
    if output.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput([Problem(f"unknown suffix {output.suffix!r}: say .html",
                                    field="output")])
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} ({len(text.encode()) / 1e6:.2f} MB, no external requests)")


@app.command()
@handle_errors
def coverage(output: Path = OUTPUT, as_of: datetime | None = AS_OF) -> None:
    """Cells with officers and grid workers, offices with their walk, cameras, patrol points;
    who is on duty now and the patrol of this and the last shift."""
    from gridsvc.services.maps import coverage_page

    _write(coverage_page(engine(), settings().map, _day(as_of), inline=True,
                         duty=settings().duty), output)


@app.command()
@handle_errors
def risk(
    output: Path = OUTPUT, as_of: datetime | None = AS_OF, days: int | None = DAYS,
    since: datetime | None = SINCE, until: datetime | None = UNTIL,
    red: float | None = typer.Option(None, "--red", help="red from this many incidents per "
                                     "1,000 households in the window (default: settings)"),
    orange: float | None = typer.Option(None, "--orange", help="orange from this many "
                                        "(default: settings)"),
    category: str | None = CATEGORY,
) -> None:
    """Compounds and grids in red/orange/green, floating-population levels, rental stars."""
    from gridsvc.services.maps import risk_page

    text = risk_page(engine(), settings().map, days=days, since=_day(since),
                     until=_day(until), red=red, orange=orange, category=category,
                     as_of=_day(as_of), inline=True)
    _write(text, output)


@app.command()
@handle_errors
def incidents(output: Path = OUTPUT, as_of: datetime | None = AS_OF, days: int | None = DAYS,
              since: datetime | None = SINCE, until: datetime | None = UNTIL,
              category: str | None = CATEGORY) -> None:
    """Incident heat map and clustered markers."""
    from gridsvc.services.maps import incidents_page

    text = incidents_page(engine(), settings().map, days=days, since=_day(since),
                          until=_day(until), category=category, as_of=_day(as_of), inline=True)
    _write(text, output)


@app.command()
@handle_errors
def plan(plan_id: int = typer.Argument(..., help="the plan's id"),
         output: Path = OUTPUT) -> None:
    """A plan's boundaries over those it was based on, changed cells marked."""
    from gridsvc.services.maps import plan_page

    _write(plan_page(engine(), settings().map, plan_id, inline=True), output)
