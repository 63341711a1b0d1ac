"""``gridsvc houses number``: number a village's new houses (dry run unless --commit)."""

from __future__ import annotations

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
