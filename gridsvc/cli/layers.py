"""``gridsvc layers import``."""

from __future__ import annotations

from pathlib import Path

import typer

from gridsvc.cli.common import actor, engine, handle_errors

app = typer.Typer(help="Cell layers (towns, villages, grids, stations, beats).",
                  no_args_is_help=True)


@app.command("import")
@handle_errors
def import_(
    file: Path = typer.Argument(..., help="GeoJSON, Shapefile (.shp or .zip) or GeoPackage"),
    kind: str = typer.Option(..., help="town, village, grid, station or beat"),
    id_field: str = typer.Option(..., help="field with the cell's business id"),
    name_field: str = typer.Option(None, help="field with the name (default: the id)"),
    code_field: str = typer.Option(None, help="field with the official code"),
    parent_field: str = typer.Option(None, help="field with the parent cell's business id"),
    crs: str = typer.Option(None, help="CRS of the coordinates if the file does not say it "
                            "(overrides the file's): an EPSG code (4326, EPSG:3857), gcj02 "
                            "(DataV GeoAtlas files) or bd09"),
    plan: int = typer.Option(None, help="plan id (default: the plan in effect)"),
    replace: bool = typer.Option(False, help="replace the plan's whole layer of this kind"),
    merge_duplicates: bool = typer.Option(
        False, help="features sharing an id are parts of one cell: merge them"),
) -> None:
    """Import cells from FILE. A bad file exits with code 2, naming the feature and field, and
    nothing is written."""
    from gridsvc.domain.io.cells_io import FieldMap
    from gridsvc.services.layers import import_layer

    result = import_layer(
        engine(), file, kind=kind, crs=crs, plan_id=plan, replace=replace,
        merge_duplicates=merge_duplicates, actor=actor(),
        fields=FieldMap(id_field, name_field, code_field, parent_field))
    made = " (new plan)" if result.created_plan else ""
    swapped = f", replacing {result.replaced}" if replace else ""
    typer.echo(f"imported {result.count} {kind} cells into plan {result.plan_id}{made}{swapped}")
