"""``gridsvc duty``: thin commands over the services (placeholder)."""

from __future__ import annotations

import typer

app = typer.Typer(help="duty (not yet)", no_args_is_help=True)
