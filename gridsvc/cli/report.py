"""``gridsvc report``: reports written to a file, CSV, JSON or GeoJSON by the file's suffix.

Each command builds its report (a dict from a service) and hands it to :func:`write_report`
with the key of its table (for CSV) and of its FeatureCollection (for GeoJSON), so a new report
is one more small command.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from gridsvc.cli.common import engine, handle_errors
from gridsvc.errors import InvalidInput, Problem

app = typer.Typer(help="Reports (fusion, staffing, coverage, cameras: CSV, JSON or GeoJSON) and "
                       "printed ones (bulletins, contact cards, assessments: PDF, HTML, XLSX).",
                  no_args_is_help=True)

OUTPUT = typer.Option(..., "--output", "-o",
                      help="file to write: .csv (the table), .json (the whole report) or "
                           ".geojson (the findings)")
AS_OF = typer.Option(None, "--as-of", formats=["%Y-%m-%d"],
                     help="the plan in effect on this date (default: today)")


def write_report(report: dict[str, Any], out: Path, *, table: str, features: str | None) -> str:
    """Write ``report`` to ``out`` by suffix; returns what was written, for the user.

    Raises
    ------
    InvalidInput
        A suffix other than .csv, .json and .geojson, or .geojson for a report without features.
    """
    suffix = out.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        pd.DataFrame(report[table]).to_csv(out, index=False)
        return f"{len(report[table])} {table} row(s)"
    if suffix == ".json":
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        return "the whole report"
    if suffix == ".geojson" and features is not None:
        collection = report[features]
        out.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        return f"{len(collection['features'])} {features}"
    allowed = ".csv, .json or .geojson" if features else ".csv or .json"
    raise InvalidInput([Problem(f"unknown suffix {out.suffix!r}: say {allowed}", field="output")])


def _as_date(value: datetime | None) -> date | None:
    return None if value is None else value.date()


@app.command()
@handle_errors
def fusion(
    output: Path = OUTPUT,
    as_of: datetime | None = AS_OF,
    sliver_m2: float = typer.Option(500.0, "--sliver-m2", min=0.0,
                                    help="gaps and overlaps under this area (m²) are slivers"),
) -> None:
    """Grid x beat crosswalk (CSV: one row per overlapping pair) and mismatches (GeoJSON)."""
    from gridsvc.services.fusion import fusion_report

    report = fusion_report(engine(), _as_date(as_of), sliver_m2)
    what = write_report(report, output, table="crosswalk", features="findings")
    counts = ", ".join(f"{k} {n}" for k, n in report["summary"]["findings"].items()) or "none"
    typer.echo(f"wrote {what} to {output} (plan {report['plan_id']}; findings: {counts})")


@app.command()
@handle_errors
def staffing(output: Path = OUTPUT, as_of: datetime | None = AS_OF) -> None:
    """Staffing against the standard (CSV: one row per beat; JSON: every level and the summary)."""
    from gridsvc.services.staffing import staffing_report

    report = staffing_report(engine(), _as_date(as_of))
    what = write_report(report, output, table="beats", features=None)
    s = report["summary"]
    typer.echo(f"wrote {what} to {output} (plan {report['plan_id']}; officers {s['officers']}"
               f" of {s['officers_required']} required, shortfall {s['shortfall']})")


@app.command()
@handle_errors
def coverage(
    output: Path = OUTPUT,
    as_of: datetime | None = AS_OF,
    speed_kmh: float = typer.Option(4.5, "--speed-kmh", min=0.1,
                                    help="walking speed; the walk is 15 minutes at it"),
    along_roads: bool = typer.Option(False, "--along-roads",
                                     help="walk along the road layer, not in a straight line"),
    propose_k: int = typer.Option(0, "--propose-k", min=0, max=50,
                                  help="also propose new office sites: the best N (MCLP) and "
                                       "the fewest (LSCP); along roads with --along-roads"),
    snap_m: float = typer.Option(5.0, "--snap-m", min=0.0, max=50.0,
                                 help="with --along-roads: join road ends within this many "
                                      "metres of another road"),
) -> None:
    """Police office coverage (CSV: one row per beat; JSON: the whole report)."""
    from gridsvc.services.coverage import office_coverage

    report = office_coverage(engine(), _as_date(as_of), speed_kmh, along_roads, propose_k,
                             snap_m)
    what = write_report(report, output, table="beats", features=None)
    s = report["summary"]
    typer.echo(f"wrote {what} to {output} (plan {report['plan_id']}; {s['covered_houses']} of "
               f"{s['houses']} houses within {report['radius_m']:g} m of an office)")


class CameraRows(StrEnum):
    grids = "grids"
    compounds = "compounds"
    entrances = "entrances"


@app.command()
@handle_errors
def cameras(
    output: Path = OUTPUT,
    as_of: datetime | None = AS_OF,
    rows: CameraRows = typer.Option(CameraRows.grids, "--rows", metavar="ROWS",
                                    help="what the CSV or GeoJSON holds: grids (GeoJSON: blind "
                                         "spots), compounds or entrances (the uncovered "
                                         "ones)"),
) -> None:
    """Camera coverage (CSV: one row per grid, compound or uncovered entrance; JSON: the whole
    report; GeoJSON: blind spots or uncovered entrances)."""
    from gridsvc.services.camera_coverage import camera_coverage_report

    report = camera_coverage_report(engine(), _as_date(as_of))
    # Uncovered entrances as flat rows for CSV: their properties and lon, lat.
    report["entrances"] = [{**f["properties"], "lon": f["geometry"]["coordinates"][0],
                            "lat": f["geometry"]["coordinates"][1]}
                           for f in report["uncovered_entrances"]["features"]]
    features = "uncovered_entrances" if rows is CameraRows.entrances else "blind_spots"
    if output.suffix.lower() == ".json":
        del report["entrances"]
    what = write_report(report, output, table=rows.value, features=features)
    s = report["summary"]
    typer.echo(f"wrote {what} to {output} (plan {report['plan_id']}; entrances seen "
               f"{s['entrances_covered']} of {s['entrances']})")


@app.command()
@handle_errors
def risk(
    incidents: Path = typer.Argument(..., help="incident points (CSV, GeoJSON, (Geo)Parquet "
                                     "file, or a folder of Parquet files with --workers)"),
    output: Path = typer.Option(..., "--output", "-o", help=".csv or .parquet: one row per grid"),
    red: float = typer.Option(None, help="red from this many incidents per 1,000 households "
                              "(default: GRIDSVC_MAP_RISK_RED)"),
    orange: float = typer.Option(None, help="orange from this many (default: "
                                 "GRIDSVC_MAP_RISK_ORANGE)"),
    plan: int = typer.Option(None, "--plan", help="this plan's grids (default: in effect)"),
    workers: int = typer.Option(None, "--workers", min=1, help="on a Dask LocalCluster"),
    scheduler: str = typer.Option(None, "--scheduler", help="on this Dask scheduler"),
    part_rows: int = typer.Option(None, "--part-rows", min=1_000, help="rows per part"),
) -> None:
    """Risk colours of every grid from a file of incidents (a batch for a province or years of
    incidents; the risk map colours from the database)."""
    from gridsvc.cli.assign import runner_for
    from gridsvc.cli.common import settings
    from gridsvc.services.risk_batch import risk_colours

    maps = settings().map
    with runner_for(workers, scheduler, part_rows) as runner:
        done = risk_colours(engine(), incidents, output,
                            red=maps.risk_red if red is None else red,
                            orange=maps.risk_orange if orange is None else orange,
                            plan_id=plan, runner=runner)
    c = done["colours"]
    typer.echo(f"{done['incidents']:,} incidents in {done['grids']:,} grids of plan "
               f"{done['plan_id']}: {c['red']} red, {c['orange']} orange, {c['green']} green, "
               f"{c['none']} without households -> {output}")


def _area(beat: str | None, office: str | None, station: str | None) -> tuple[str, str]:
    given = [(k, v) for k, v in (("beat", beat), ("office", office), ("station", station)) if v]
    if len(given) != 1:
        raise InvalidInput([Problem("give exactly one of --beat, --office, --station",
                                    field="beat")])
    return given[0]


def _page_suffix(out: Path, allowed: tuple[str, ...]) -> str:
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise InvalidInput([Problem(f"unknown suffix {out.suffix!r}: say "
                                    + " or ".join(f".{a}" for a in allowed), field="output")])
    return suffix


@app.command()
@handle_errors
def bulletin(
    week: str = typer.Option(..., "--week", help="ISO week, e.g. 2026-W48"),
    output: Path = typer.Option(..., "--output", "-o", help=".pdf (A4) or .html"),
    beat: str = typer.Option(None, "--beat", help="a beat's id"),
    office: str = typer.Option(None, "--office", help="a police office's id (its beats)"),
    station: str = typer.Option(None, "--station", help="a station's id"),
    previous_weeks: int = typer.Option(4, "--previous-weeks", min=1, max=26,
                                       help="compare with this many weeks before"),
) -> None:
    """A weekly bulletin (警情公告, 破案公告) of one beat, office or station: counts by category
    and village (never a house or a name), the change, a map, advice; built from current data."""
    from gridsvc.cli.common import settings
    from gridsvc.services import bulletins

    kind, area_id = _area(beat, office, station)
    fmt = _page_suffix(output, ("pdf", "html"))
    zone = settings().duty.zone
    made = bulletins.bulletin(engine(), kind, area_id, week, previous_weeks=previous_weeks,
                              zone=zone)
    output.write_bytes(bulletins.render(made, fmt, zone))
    solved = "not recorded" if made.solved is None else made.solved
    typer.echo(f"wrote the {made.week} bulletin of {made.area_name} to {output}: {made.total} "
               f"incident(s), {made.previous_mean:.1f} a week before; solved {solved}")


@app.command()
@handle_errors
def advice(
    category: str = typer.Argument(None, help="a category; none: list every advice"),
    text: str = typer.Option(None, "--set", help="the new advice for CATEGORY"),
    delete: bool = typer.Option(False, "--delete", help="remove CATEGORY's advice"),
) -> None:
    """The prevention advice printed on bulletins per incident category: list, --set, --delete."""
    from gridsvc.cli.common import actor
    from gridsvc.services import bulletins

    if category is None:
        for row in bulletins.list_advice(engine()):
            typer.echo(f"{row['category']}\t{row['advice']}")
        return
    if delete:
        bulletins.delete_advice(engine(), category, actor=actor())
        typer.echo(f"removed the advice of {category}")
    elif text is not None:
        bulletins.set_advice(engine(), category, text, actor=actor())
        typer.echo(f"set the advice of {category}")
    else:
        raise InvalidInput([Problem("say --set TEXT or --delete", field="set")])


@app.command()
@handle_errors
def solved(
    incident: str = typer.Argument(..., help="the incident's id"),
    on: datetime = typer.Option(..., "--on", formats=["%Y-%m-%d"], help="the day it was solved"),
) -> None:
    """Record that an incident's case was solved (破案), for the bulletins' 破案公告."""
    from gridsvc.cli.common import actor
    from gridsvc.services import bulletins

    bulletins.mark_solved(engine(), incident, on.date(), actor=actor())
    typer.echo(f"{incident} solved on {on.date()}")


@app.command()
@handle_errors
def cards(
    village: str = typer.Option(..., "--village", help="a village's id"),
    output: Path = typer.Option(..., "--output", "-o", help=".pdf"),
) -> None:
    """A village's contact cards (警民联系卡): one per house, 8 to an A4 page with crop marks;
    built from the current boundaries and people (print again after a change)."""
    from gridsvc.printing import cards as page
    from gridsvc.services.cards import village_cards

    _page_suffix(output, ("pdf",))
    name, made = village_cards(engine(), village)
    output.write_bytes(page.pdf(made, f"{name}警民联系卡"))
    without = sum(1 for c in made if c.officer is None)
    typer.echo(f"wrote {len(made)} card(s) of {name} to {output} "
               f"({(len(made) + 7) // 8} page(s); {without} without an officer)")


class Level(StrEnum):
    officer = "officer"
    grid_worker = "grid_worker"
    grid = "grid"
    beat = "beat"
    station = "station"


@app.command()
@handle_errors
def assessment(
    level: Level = typer.Option(..., "--level", metavar="LEVEL",
                                help="officer, grid_worker, grid, beat or station"),
    period: str = typer.Option(..., "--period", help="2026-11, 2026-Q4, 2026-H2 or 2026"),
    output: Path = typer.Option(..., "--output", "-o", help=".csv, .xlsx, .pdf or .json"),
) -> None:
    """Assessment (考核) of every unit of a level for a period: patrol coverage, staffing,
    events of the unit's cells (reported, handled, 按期处置率, closed, returned), houses visited
    over houses in scope, and the weighted score (weights and targets: GRIDSVC_ASSESS_*)."""
    from gridsvc.cli.common import settings
    from gridsvc.printing import table
    from gridsvc.services.assessments import assessment as assess

    fmt = _page_suffix(output, ("csv", "xlsx", "pdf", "json"))
    s = settings()
    report = assess(engine(), level.value, period, assess=s.assess, duty=s.duty)
    if fmt == "json":
        output.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        output.write_bytes(table.render(report, fmt))
    typer.echo(f"wrote {len(report['rows'])} {level.value} row(s) of {period} to {output} "
               f"(patrol over {report['patrol_days']} day(s) with records)")
    for note in report["notes"][1:]:
        typer.echo(f"note: {note}")
