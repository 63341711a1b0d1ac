"""The ``gridsvc`` command's entry point (``gridsvc = "gridsvc.cli.main:app"``).

The command is the Typer app of :mod:`gridsvc.cli.app`, loaded on first use. The installed
script calls ``app()``: a plain file-mode ``gridsvc assign INPUT --cells ... -o ...`` then runs
through :mod:`gridsvc.cli.quick`, without loading Typer, rich and every other command's module
(a fifth of a second, a third of a cached one-second run); anything else (other commands,
``--help``, other option forms, bad options) goes to Typer. Everywhere else ``app`` stands for
the Typer app: ``typer.main.get_command(app)`` and ``CliRunner().invoke(app, ...)`` see it.
"""

from __future__ import annotations

import sys
from typing import Any


class _Command:
    """The Typer app, loaded when first needed, with the quick start in front of it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs:  # as the installed script calls it: argv is sys.argv
            from gridsvc.cli import quick

            quick.main(sys.argv[1:])  # exits when it runs the command; returns if not its call
        return _typer_app()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(_typer_app(), name)


def _typer_app() -> Any:
    from gridsvc.cli.app import app as typer_app

    return typer_app


app = _Command()
