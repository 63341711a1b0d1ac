"""``gridsvc houses``: ``number`` a village's new houses (dry run unless --commit), ``import`` a
house register file (all or nothing)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from gridsvc.cli.common import actor, engine, handle_errors

app = typer.Typer(help="Houses (门牌) and their numbers.", no_args_is_help=True)


@app.command()
@handle_errors
def number(
    village: str = typer.Option(..., "--village", help="the village's business id"),
    commit: bool = typer.Option(False, "--commit",
                                help="write the numbers (default: only show what would change)"),
) -> None:
    """Give the village's unnumbered houses (number 0) the next free numbers.

    Houses are walked west to east, north to south, in serpentine rows; houses that have a
    number keep it. Without --commit nothing is written.
    """
    from gridsvc.services import houses

    if commit:
        changes = houses.apply_numbering(engine(), village, actor=actor())
    else:
        changes = houses.plan_numbering(engine(), village)
    out = Console()
    if changes:
        table = Table("house", "old", "new")
        for c in changes:
            table.add_row(str(c["house_id"]), str(c["old"]), str(c["new"]))
        out.print(table)
    verb = "numbered" if commit else "would number"
    tail = "" if commit or not changes else " (dry run: add --commit to write)"
    typer.echo(f"village {village}: {verb} {len(changes)} house(s){tail}")


@app.command("import")
@handle_errors
def import_(
    file: Path = typer.Argument(..., help="CSV, GeoJSON or GeoParquet of houses"),
    x: str | None = typer.Option(None, "--x", help="longitude/easting column of a CSV"),
    y: str | None = typer.Option(None, "--y", help="latitude/northing column of a CSV"),
    crs: str | None = typer.Option(
        None, "--crs", help="CRS of the points (EPSG code, gcj02, bd09); default: what the file "
                            "says, else EPSG:4326"),
    village_field: str = typer.Option("village", "--village-field",
                                      help="column of the village (business id or name)"),
    number_field: str = typer.Option("number", "--number-field",
                                     help="column of the house number (203, 203-1, 二百零三)"),
) -> None:
    """Import a house register: every row is checked first, and nothing is imported when any
    row has a problem (the report lists them all, by row and field; exit code 2).

    Columns: village, number, and optionally id, sub_number, building, unit, room, aliases
    ("|"-separated), households, registered, residents, floating, is_rental, rental_stars,
    compound_id; the point as lon/lat columns or the file's geometry.
    """
    from gridsvc.services import houses

    done = houses.import_houses(engine(), file, x=x, y=y, crs=crs, village_field=village_field,
                                number_field=number_field, actor=actor())
    if done["ignored_columns"]:
        typer.echo(f"ignored columns: {', '.join(done['ignored_columns'])}")
    typer.echo(f"imported {done['count']} house(s) into {done['villages']} village(s) "
               f"(cells from plan {done['plan_id']})")
