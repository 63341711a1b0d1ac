"""The ``gridsvc`` command's Typer app: thin commands over the services (started through
:mod:`gridsvc.cli.main`)."""

from __future__ import annotations

import typer

from gridsvc.cli import (
    accounts,
    assign,
    db,
    demo,
    duty,
    events,
    houses,
    layers,
    maps,
    plans,
    report,
    tokens,
    visits,
)
from gridsvc.cli.common import setup_logging
from gridsvc.cli.help_text import reflow_help
from gridsvc.cli.serve import serve

app = typer.Typer(
    help="gridsvc: police grid (警格) x governance grid (网格) fusion on PostGIS.",
    no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    setup_logging(verbose)


app.add_typer(db.app, name="db")
app.add_typer(tokens.app, name="token")
app.add_typer(layers.app, name="layers")
app.add_typer(demo.app, name="demo")
app.add_typer(houses.app, name="houses")
app.add_typer(report.app, name="report")
app.add_typer(maps.app, name="map")
app.add_typer(plans.app, name="plans")
app.add_typer(accounts.app, name="account")
app.add_typer(events.app, name="events")
app.add_typer(duty.app, name="duty")
app.add_typer(visits.app, name="visits")
app.command()(serve)
app.command("assign")(assign.assign)
# Last, so every command above is covered: help paragraphs wrap at the terminal's width.
reflow_help(app)
