"""``gridsvc plans``: drafts, edits, checks, impact, activation, retire, restore and sync.

Everything that changes data is a dry run unless ``--commit`` (the answer says what would
happen). Edits need the draft's ``--version`` (``gridsvc plans show ID`` prints it), so two
planners cannot overwrite each other. Geometries are GeoJSON: inline, or a file name.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from gridsvc.cli.common import actor, engine, handle_errors
from gridsvc.cli.proposals import propose
from gridsvc.errors import InvalidInput, Problem

app = typer.Typer(help="Plans: draft boundaries, see what moves, activate on a date.",
                  no_args_is_help=True)
edit_app = typer.Typer(help="Edit a draft (dry run unless --commit).", no_args_is_help=True)
app.add_typer(edit_app, name="edit")
app.command("propose")(propose)

PLAN = typer.Argument(..., help="the plan's id")
COMMIT = typer.Option(False, "--commit", help="make the change (default: only show it)")
VERSION = typer.Option(..., "--version", help="the draft's version (gridsvc plans show)")
KIND = typer.Option("grid", "--kind", help="town, village, grid, station or beat")
REPAIR = typer.Option(False, "--repair", help="repair an invalid geometry with make_valid")
CRS = typer.Option("4490", "--crs", help="CRS of the geometries (EPSG code, gcj02, bd09)")
DATE = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="effective date (default today)")


def _geometry(value: str, field: str) -> dict[str, Any]:
    """A GeoJSON geometry from inline JSON or a file (a Feature or a one-feature collection
    gives its geometry)."""
    text = value
    path = Path(value)
    if not value.lstrip().startswith(("{", "[")) and path.exists():
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem(f"neither GeoJSON nor a file: {exc}", field=field)]) from None
    if isinstance(data, list):  # a bare list of [lon, lat]: a line
        data = {"type": "LineString", "coordinates": data}
    if data.get("type") == "FeatureCollection":
        feats = data.get("features") or []
        if len(feats) != 1:
            raise InvalidInput([Problem("give one feature", field=field)])
        data = feats[0]
    return data.get("geometry", data) if data.get("type") == "Feature" else data


def _ids(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _edit(plan_id: int, version: int, commit: bool, op: dict[str, Any]) -> None:
    from gridsvc.services import plans

    done = plans.edit(engine(), plan_id, {k: v for k, v in op.items() if v is not None},
                      version=version, actor=actor(), commit=commit)
    for c in done["cells"]:
        typer.echo(f"{c['change']:>8} {c['kind']} {c['id']}")
    for f in done["problems"]["features"]:
        p = f["properties"]
        typer.echo(f"{p['severity']}: {p['message']}")
    if commit:
        typer.echo(f"plan {plan_id} is now version {done['version']} "
                   f"({done['errors']} error(s), {done['warnings']} warning(s))")
    else:
        typer.echo(f"dry run: nothing written ({done['errors']} error(s), "
                   f"{done['warnings']} warning(s)); add --commit to make the edit")


@edit_app.command()
@handle_errors
def replace(plan: int = PLAN, id: str = typer.Option(..., "--id"),
            geometry: str = typer.Option(..., "--geometry", help="GeoJSON or a file"),
            kind: str = KIND, version: int = VERSION, repair: bool = REPAIR, crs: str = CRS,
            commit: bool = COMMIT) -> None:
    """Replace a cell's geometry."""
    _edit(plan, version, commit, {"op": "replace", "kind": kind, "id": id, "repair": repair,
                                  "crs": crs, "geometry": _geometry(geometry, "geometry")})


@edit_app.command("split")
@handle_errors
def split_(plan: int = PLAN, id: str = typer.Option(..., "--id"),
           line: str = typer.Option(
               ..., "--line", help="a GeoJSON line, a JSON list of lon,lat pairs, or a file"),
           names: str | None = typer.Option(None, "--names", help="names of the new cells (,)"),
           kind: str = KIND, version: int = VERSION, crs: str = CRS,
           commit: bool = COMMIT) -> None:
    """Split a cell by a line; the largest piece keeps the id, the others get new ones."""
    _edit(plan, version, commit, {"op": "split", "kind": kind, "id": id, "crs": crs,
                                  "line": _geometry(line, "line"), "names": _ids(names)})


@edit_app.command()
@handle_errors
def merge(plan: int = PLAN, ids: str = typer.Option(..., "--ids", help="cells, comma-separated"),
          keep: str | None = typer.Option(None, "--keep", help="the id kept (default first)"),
          kind: str = KIND, version: int = VERSION, commit: bool = COMMIT) -> None:
    """Merge cells of one parent into one."""
    _edit(plan, version, commit, {"op": "merge", "kind": kind, "ids": _ids(ids), "keep": keep})


@edit_app.command()
@handle_errors
def transfer(plan: int = PLAN, from_: str = typer.Option(..., "--from"),
             to: str = typer.Option(..., "--to"),
             area: str | None = typer.Option(None, "--area", help="GeoJSON area or a file"),
             houses: str | None = typer.Option(None, "--houses", help="house ids (,)"),
             kind: str = KIND, version: int = VERSION, crs: str = CRS,
             commit: bool = COMMIT) -> None:
    """Move a drawn area, or chosen houses, from a cell to its neighbour."""
    _edit(plan, version, commit, {
        "op": "transfer", "kind": kind, "from": from_, "to": to, "crs": crs,
        "area": _geometry(area, "area") if area else None, "houses": _ids(houses)})


@edit_app.command()
@handle_errors
def create(plan: int = PLAN, parent: str | None = typer.Option(None, "--parent"),
           geometry: str = typer.Option(..., "--geometry", help="GeoJSON or a file"),
           name: str | None = typer.Option(None, "--name"), kind: str = KIND,
           version: int = VERSION, repair: bool = REPAIR, crs: str = CRS,
           commit: bool = COMMIT) -> None:
    """Create a cell (it gets the next code in its parent's sequence)."""
    _edit(plan, version, commit, {"op": "create", "kind": kind, "parent_id": parent,
                                  "name": name, "repair": repair, "crs": crs,
                                  "geometry": _geometry(geometry, "geometry")})


@edit_app.command("retire")
@handle_errors
def retire_cell(plan: int = PLAN, id: str = typer.Option(..., "--id"), kind: str = KIND,
                version: int = VERSION, commit: bool = COMMIT) -> None:
    """Retire a cell from the draft (its id is never given again)."""
    _edit(plan, version, commit, {"op": "retire", "kind": kind, "id": id})


@app.command("create")
@handle_errors
def create_plan(name: str = typer.Option(..., "--name"),
                from_plan: int | None = typer.Option(None, "--from", help="default: in effect"),
                note: str | None = typer.Option(None, "--note"), commit: bool = COMMIT) -> None:
    """Make a draft: a copy of the boundaries in effect."""
    from gridsvc.services import plans

    made = plans.create_draft(engine(), name=name, from_plan=from_plan, note=note,
                              actor=actor(), commit=commit)
    what = f"draft {made['id']}" if commit else "a draft"
    verb = "made" if commit else "would make"
    typer.echo(f"{verb} {what} (version {made['version']}) from plan {made['based_on_id']}: "
               f"{made['cells']} cells" + ("" if commit else "; add --commit to make it"))


@app.command("list")
@handle_errors
def list_() -> None:
    """Every plan, newest first."""
    from gridsvc.services import plans

    table = Table("id", "name", "status", "effective", "based on", "version", "in effect",
                  "cells")
    for p in plans.list_plans(engine()):
        table.add_row(str(p["id"]), p["name"], p["status"], str(p["effective_from"] or ""),
                      str(p["based_on_id"] or ""), str(p["version"]),
                      "yes" if p["in_effect"] else "", str(sum((p["cells"] or {}).values())))
    Console(width=140).print(table)


@app.command()
@handle_errors
def show(plan: int = PLAN) -> None:
    """A plan, its version and the cells it changes."""
    from gridsvc.services import plans

    p = plans.show_plan(engine(), plan)
    typer.echo(f"plan {p['id']} {p['name']!r}: {p['status']}, version {p['version']}, "
               f"effective {p['effective_from'] or '-'}, based on {p['based_on_id'] or '-'}"
               f"{', in effect' if p['in_effect'] else ''}")
    typer.echo("cells: " + ", ".join(f"{k} {n}" for k, n in sorted(p["cells"].items())))
    for c in p["changes"]:
        typer.echo(f"{c['change']:>8} {c['kind']} {c['id']}")


@app.command()
@handle_errors
def validate(plan: int = PLAN) -> None:
    """Check the draft's changes (exit code 2 when there are errors)."""
    from gridsvc.services import plans

    done = plans.validate(engine(), plan, actor=actor())
    for f in done["problems"]["features"]:
        p = f["properties"]
        typer.echo(f"{p['severity']}: {p['message']}")
    typer.echo(f"plan {plan}: {done['errors']} error(s), {done['warnings']} warning(s)")
    if done["errors"]:
        raise typer.Exit(2)


@app.command()
@handle_errors
def impact(plan: int = PLAN,
           output: Path | None = typer.Option(None, "--output", "-o",
                                              help=".json (all), .csv (houses) or .geojson "
                                                   "(changed cells)"),
           months: int = typer.Option(12, "--months", min=0, help="incidents of N months"),
           against: int | None = typer.Option(None, "--against", help="default: in effect")
           ) -> None:
    """What the draft moves, against the plan in effect."""
    from gridsvc.cli.report import write_report
    from gridsvc.services.plan_impact import impact as preview

    report = preview(engine(), plan, months=months, against=against)
    s = report["summary"]
    typer.echo(f"plan {plan} against plan {report['against']}: {s['cells_changed']} cell(s) "
               f"changed; moves {s['houses']} house(s) ({s['households']} households, "
               f"{s['residents']} residents), {s['patrol_points']} patrol point(s), "
               f"{s['cameras']} camera(s), {s['offices']} office(s); {s['incidents']} "
               f"incident(s) of {months} months would fall elsewhere; {s['splits']} newly "
               f"split cell(s); {s['beats_not_meeting_after']} beat(s) short after")
    if output is not None:
        what = write_report(report, output, table="houses", features="cells")
        typer.echo(f"wrote {what} to {output}")


def _moved(done: dict[str, Any]) -> str:
    return ", ".join(f"{n} {t}(s)" for t, n in done["moved"].items())


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


@app.command()
@handle_errors
def activate(plan: int = PLAN, when: datetime | None = DATE,
             version: int | None = typer.Option(None, "--version"),
             commit: bool = COMMIT) -> None:
    """Put a draft in effect on a date (objects move in one transaction).

    Houses, patrol points, cameras and offices move to the new cells at once for today's
    date; for a future date, when 'gridsvc plans sync' runs on or after it (run it daily).
    """
    from gridsvc.services.plan_activation import activate as run

    done = run(engine(), plan, effective_from=_day(when), version=version, actor=actor(),
               commit=commit)
    verb = "activated" if commit else "would activate"
    typer.echo(f"{verb} plan {plan} from {done['effective_from']} (replacing plan "
               f"{done['replaces']}); moved: {_moved(done)}"
               + ("" if commit else " (dry run: add --commit)"))


@app.command()
@handle_errors
def retire(plan: int = PLAN, commit: bool = COMMIT) -> None:
    """Retire a plan: the plan before it is in effect again (a draft is dropped)."""
    from gridsvc.services.plan_activation import retire as run

    done = run(engine(), plan, actor=actor(), commit=commit)
    verb = "retired" if commit else "would retire"
    typer.echo(f"{verb} plan {plan}; in effect: plan {done['in_effect']}; moved: "
               f"{_moved(done)}" + ("" if commit else " (dry run: add --commit)"))


@app.command()
@handle_errors
def restore(plan: int = PLAN, when: datetime | None = DATE, commit: bool = COMMIT) -> None:
    """Put a retired plan back in effect (from its own date or --date)."""
    from gridsvc.services.plan_activation import restore as run

    done = run(engine(), plan, effective_from=_day(when), actor=actor(), commit=commit)
    verb = "restored" if commit else "would restore"
    typer.echo(f"{verb} plan {plan} from {done['effective_from']}; in effect: plan "
               f"{done['in_effect']}; moved: {_moved(done)}"
               + ("" if commit else " (dry run: add --commit)"))


@app.command()
@handle_errors
def sync(commit: bool = COMMIT) -> None:
    """Move objects to the plan in effect today (for plans activated for a future date)."""
    from gridsvc.services.plan_activation import sync as run

    done = run(engine(), actor=actor(), commit=commit)
    verb = "moved" if commit else "would move"
    typer.echo(f"plan in effect: {done['plan_id']}; {verb}: {_moved(done)}")


@app.command()
@handle_errors
def reassign(
    plan: int = PLAN,
    input_path: Path = typer.Argument(..., metavar="INPUT", help="rows with points and their "
                                      "own <kind>_id columns (CSV, GeoJSON, (Geo)Parquet)"),
    output: Path = typer.Option(..., "--output", "-o", help=".csv, .parquet or .geoparquet"),
    layers: str = typer.Option(None, help="kinds of cells, comma-separated (default: all)"),
    workers: int = typer.Option(None, "--workers", min=1, help="on a Dask LocalCluster"),
    scheduler: str = typer.Option(None, "--scheduler", help="on this Dask scheduler"),
    part_rows: int = typer.Option(None, "--part-rows", min=1_000, help="rows per part"),
) -> None:
    """Re-assignment after a plan: where each row (e.g. years of incidents) falls under the
    plan's cells: plan_<kind>_id columns and a moved flag. Stored rows are not changed."""
    from gridsvc.cli.assign import runner_for
    from gridsvc.services.assign_files import reassign as run

    kinds = [k.strip() for k in layers.split(",") if k.strip()] if layers else None
    with runner_for(workers, scheduler, part_rows) as runner:
        summary = run(engine(), plan, input_path, output, layers=kinds, runner=runner)
    typer.echo(f"{summary.rows:,} rows, {summary.moved:,} moved under plan {plan}, "
               f"{summary.unassigned:,} outside some layer, {summary.seconds:.2f} s -> {output}")
