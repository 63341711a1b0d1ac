"""``gridsvc plans propose``: N balanced grids for a village or town, or beats for a station or
town area, as a new draft plan (dry run unless --commit)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from gridsvc.cli.common import actor, engine, handle_errors
from gridsvc.errors import InvalidInput, Problem


@handle_errors
def propose(
    village: str | None = typer.Option(None, "--village", help="divide this village into grids"),
    town: str | None = typer.Option(None, "--town",
                                    help="divide this town into beats, or grids with --kind grid"),
    station: str | None = typer.Option(None, "--station",
                                       help="divide this station's area into beats"),
    n: int = typer.Option(..., "--n", help="how many cells to propose"),
    kind: str | None = typer.Option(None, "--kind",
                                    help="grid or beat (default: grid for a village, else beat)"),
    seed: int = typer.Option(0, "--seed", help="seed of the search (same seed, same proposal)"),
    budget: float | None = typer.Option(
        None, "--budget", min=0.001,
        help="stop searching after this many seconds and take the best proposal found "
             "(default: search every start, as long as it takes)"),
    commit: bool = typer.Option(False, "--commit",
                                help="write the draft plan (default: only show the proposal)"),
) -> None:
    """Propose N cells with households balanced within ±10%, contiguous, keeping villages whole
    and following roads where it can; with --commit, write them as a new draft plan (a copy of
    the plan in effect with the parent's grids or beats replaced) for review.

    Exit code 2 on bad input (not exactly one of --village/--town/--station, a kind that
    parent cannot hold, N out of range).
    """
    from gridsvc.services import proposals

    given = [(k, v) for k, v in (("village", village), ("town", town), ("station", station))
             if v is not None]
    if len(given) != 1:
        raise InvalidInput([Problem("give exactly one of --village, --town, --station",
                                    field="parent")])
    parent_kind, parent_id = given[0]
    kind = kind or ("grid" if parent_kind == "village" else "beat")
    out = proposals.propose(engine(), parent_kind=parent_kind, parent_id=parent_id, n=n,
                            kind=kind, seed=seed, commit=commit, actor=actor(),
                            budget_s=budget)
    table = Table()
    for column in ("id", "code", "name", "households", "residents", "deviation", "blocks"):
        table.add_column(column, no_wrap=column in ("id", "code"))
    for c in out["cells"]:
        table.add_row(c["id"], c["code"] or "", c["name"], str(c["households"]),
                      str(c["residents"]), f"{c['deviation']:+.1%}", str(c["blocks"]))
    Console().print(table)
    parent = out["parent"]
    typer.echo(f"{parent['kind']} {parent['id']} ({parent['name']}) into {out['n']} "
               f"{out['kind']}s from {out['blocks']} blocks: mean {out['mean']:.0f} households, "
               f"band {out['low']:.0f}..{out['high']:.0f} (±{out['tolerance']:.0%})")
    if out["within_tolerance"]:
        typer.echo(f"balanced: largest deviation {out['max_deviation']:.1%}")
    else:
        typer.echo(f"NOT balanced: largest deviation {out['max_deviation']:.1%}")
        for reason in out["reasons"]:
            typer.echo(f"  - {reason}")
    if out.get("stopped_early"):
        typer.echo(f"stopped at the --budget of {budget:g} s: the best proposal found so far")
    typer.echo(f"boundaries {out['boundary_m']:.0f} m, of which {out['along_roads_m']:.0f} m "
               f"along roads; replaces {', '.join(out['replaced']) or 'nothing'}"
               + (f"; clips {', '.join(out['clipped'])}" if out["clipped"] else ""))
    if commit:
        typer.echo(f"draft plan {out['plan_id']} written (based on plan {out['based_on_id']})")
    else:
        typer.echo("dry run: add --commit to write the draft plan")
