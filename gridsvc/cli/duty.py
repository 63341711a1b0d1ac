"""``gridsvc duty``: shifts, who is on duty, patrol coverage, hot spots, responsibility fields.

Thin commands over :mod:`gridsvc.services.duty`, :mod:`~gridsvc.services.patrol` and
:mod:`~gridsvc.services.fields`; answers are printed as JSON (pipe them to ``jq``), reports and
maps written to files.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from gridsvc.cli.common import actor, engine, handle_errors, settings

app = typer.Typer(help="Duty: shifts, who is on duty, patrol coverage, responsibility fields.",
                  no_args_is_help=True)

DAY = typer.Option(..., "--day", formats=["%Y-%m-%d"], help="a duty day, YYYY-MM-DD")
STATION = typer.Option(None, "--station", help="one station's id (default: every station)")


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=1, default=str))


def _at(value: str | None) -> datetime | None:
    """An instant; without a time zone, the station's wall time."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    from gridsvc.errors import InvalidInput, Problem

    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput([Problem(f"not a date-time: {value!r}", field="at")]) from None
    return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(settings().duty.zone))


@app.command()
@handle_errors
def onduty(lon: float = typer.Option(None, help="longitude (WGS84 unless --crs)"),
           lat: float = typer.Option(None, help="latitude"),
           crs: str = typer.Option("4326", help="EPSG code, gcj02 or bd09"),
           beat: str = typer.Option(None, help="a beat id instead of a point"),
           at: str = typer.Option(None, help="the instant, e.g. 2026-03-01T02:00 (default now)")
           ) -> None:
    """Who is on duty at a point or beat: the main-duty group, the beat's officers, the cover."""
    from gridsvc.services.lookup import LookupService
    from gridsvc.services.onduty import DutyService

    eng = engine()
    service = DutyService(eng, LookupService(eng), settings().duty)
    if beat:
        _print(service.on_duty_cell("beat", beat, _at(at)))
    elif lon is not None and lat is not None:
        _print(service.on_duty(lon, lat, crs, _at(at)))
    else:
        raise typer.BadParameter("give --lon and --lat, or --beat")


@app.command()
@handle_errors
def groups(station: str = typer.Argument(..., help="the station's id")) -> None:
    """The station's duty groups with their members and leaders."""
    from gridsvc.services.duty import list_groups

    _print(list_groups(engine(), station))


@app.command()
@handle_errors
def rotate(station: str = typer.Argument(..., help="the station's id"),
           valid_from: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"],
                                               help="first day of the new rotation"),
           order: str = typer.Option(..., "--groups",
                                     help="group codes in order, e.g. A,B,C: the first holds "
                                          "main duty on the first day")) -> None:
    """Replace the rotation from a day on (the usual daily rotation of the groups)."""
    from gridsvc.services.duty import set_rotation

    _print(set_rotation(engine(), settings().duty, station_id=station,
                        valid_from=valid_from.date(), group_codes=order.split(","),
                        actor=actor()))


@app.command()
@handle_errors
def swap(station: str = typer.Argument(..., help="the station's id"),
         day: datetime = DAY,
         group: str = typer.Option(..., help="a group code"),
         other: str = typer.Option(..., "--with", help="the other group code")) -> None:
    """Two groups exchange their duties of a day."""
    from gridsvc.services.duty import add_change

    made, _ = add_change(engine(), settings().duty, station_id=station, kind="swap",
                         day=day.date(), group=group, other_group=other, actor=actor())
    _print(made)


@app.command()
@handle_errors
def leave(station: str = typer.Argument(..., help="the station's id"),
          person: str = typer.Option(..., help="the person's id"),
          start: str = typer.Option(..., "--from", help="e.g. 2026-12-10T08:00"),
          end: str = typer.Option(..., "--to", help="e.g. 2026-12-12T08:00"),
          substitute: str = typer.Option(None, help="who stands in (a person id)")) -> None:
    """A person off duty for a while, with or without someone standing in."""
    from gridsvc.services.duty import add_change

    made, _ = add_change(engine(), settings().duty, station_id=station,
                         kind="substitute" if substitute else "leave", person=person,
                         other_person=substitute, start=_at(start), end=_at(end),
                         actor=actor())
    _print(made)


@app.command()
@handle_errors
def materialise(station: str = typer.Argument(None, help="one station (default: all)")
                ) -> None:
    """Extend the materialised duty to the horizon (run daily)."""
    from gridsvc.services.duty import extend_all
    from gridsvc.services.duty import materialise as one

    eng = engine()
    _print(one(eng, settings().duty, station, actor=actor()) if station
           else extend_all(eng, settings().duty, actor=actor()))


@app.command()
@handle_errors
def coverage(day: datetime = DAY, station: str = STATION,
             output: Path = typer.Option(None, "--output", "-o",
                                         help=".csv (one row per point and round) or .json "
                                              "(the whole report); default: the totals")) -> None:
    """Patrol coverage of a shift: points visited over points due, the missed points."""
    from gridsvc.errors import InvalidInput, Problem
    from gridsvc.services.patrol import report_csv, shift_coverage

    report = shift_coverage(engine(), settings().duty, day=day.date(), station_id=station)
    if output is None:
        _print({"day": report["day"], "totals": report["totals"]})
    elif output.suffix.lower() == ".csv":
        output.write_text(report_csv(report), encoding="utf-8")
        typer.echo(f"{len(report['points'])} point-round(s) written to {output}")
    elif output.suffix.lower() == ".json":
        output.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        typer.echo(f"report written to {output}")
    else:
        raise InvalidInput([Problem("say .csv or .json", field="output")])


@app.command()
@handle_errors
def hotspots(station: str = STATION,
             weeks: int = typer.Option(None, help="weeks of incidents (default: settings)"),
             until: datetime = typer.Option(None, formats=["%Y-%m-%d"],
                                            help="last day of incidents (default: today)"),
             hours: str = typer.Option(None, help="hours of day, e.g. 0-6")) -> None:
    """Proposed night patrol points from the incidents of the last weeks, with the reasons."""
    from gridsvc.services.patrol import hotspots as find

    _print(find(engine(), settings().duty, station_id=station, weeks=weeks,
                until=until.date() if until else None, hours=hours))


@app.command()
@handle_errors
def fields(station: str = typer.Argument(..., help="the station's id"),
           propose: bool = typer.Option(False, help="also propose a fair share"),
           apply: bool = typer.Option(False, help="make the proposal the fields (audited)"),
           seed: int = typer.Option(0, help="seed of the proposal's search")) -> None:
    """Responsibility fields: villages' complexity, officers' fields and loads."""
    from gridsvc.services import fields as service

    eng, s = engine(), settings().duty
    if not (propose or apply):
        _print(service.fields(eng, s, station))
        return
    found = service.proposal(eng, s, station, seed=seed)
    if apply:
        found = service.apply(eng, station_id=station, assignment=found["proposal"]["fields"],
                              actor=actor(), settings=s)
    _print(found)


@app.command("map")
@handle_errors
def map_(output: Path = typer.Option(..., "--output", "-o", help="the HTML file to write"),
         day: datetime = typer.Option(None, "--day", formats=["%Y-%m-%d"],
                                      help="the shift (default: the last full one)"),
         station: str = STATION,
         hotspots_until: datetime = typer.Option(None, formats=["%Y-%m-%d"],
                                                 help="incidents for hot spots up to this day")
         ) -> None:
    """Write the duty map (on duty per beat, patrol coverage, missed points red) to a file
    that opens anywhere (libraries inline)."""
    from gridsvc.services.duty_maps import duty_page

    output.write_text(duty_page(engine(), settings(), day=day.date() if day else None,
                                station_id=station, inline=True,
                                hotspots_until=hotspots_until.date() if hotspots_until
                                else None), encoding="utf-8")
    typer.echo(f"duty map written to {output}")


@app.command("fields-map")
@handle_errors
def fields_map(station: str = typer.Argument(..., help="the station's id"),
               output: Path = typer.Option(..., "--output", "-o", help="the HTML file"),
               seed: int = typer.Option(0, help="seed of the proposal's search")) -> None:
    """Write the responsibility-fields map (now and as proposed) to a file."""
    from gridsvc.services.duty_maps import fields_page

    output.write_text(fields_page(engine(), settings(), station_id=station, seed=seed,
                                  inline=True), encoding="utf-8")
    typer.echo(f"fields map written to {output}")

