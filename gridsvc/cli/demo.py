"""``gridsvc demo load``: the demo town."""

from __future__ import annotations

import typer

from gridsvc.cli.common import actor, engine, handle_errors, settings

app = typer.Typer(help="The demo town (八都).", no_args_is_help=True)


@app.command()
@handle_errors
def load() -> None:
    """Load the demo town from GRIDSVC_DEMO_DIR (default data/demo_town). Idempotent."""
    from gridsvc.services.demo import load_demo

    result = load_demo(engine(), settings().demo_dir, actor=actor())
    if not result.loaded:
        typer.echo(f"demo town already loaded (plan {result.plan_id})")
        return
    counts = ", ".join(f"{n} {k}" for k, n in result.counts.items())
    typer.echo(f"demo town loaded into plan {result.plan_id}: {counts}")
