"""What every command shares: settings, an engine, logging and error-to-exit-code mapping."""

from __future__ import annotations

import functools
import getpass
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from rich.console import Console
from rich.logging import RichHandler

from gridsvc.errors import DatabaseUnavailable, GridsvcError, InvalidInput

if TYPE_CHECKING:  # the CLI starts fast: heavy modules load when a command needs them
    from sqlalchemy import Engine

    from gridsvc.settings import Settings

err = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
R = TypeVar("R")

#: Exit codes: 2 for input the user must fix (as for a usage error), 1 for anything else.
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def settings() -> Settings:
    from gridsvc.settings import get_settings

    return get_settings()


def engine() -> Engine:
    """An engine on a migrated database (the embedded one is started on demand)."""
    from gridsvc.services.database import ready_engine

    return ready_engine(settings())


def actor() -> str:
    """Who the audit log says did a change made from the command line."""
    return f"cli:{getpass.getuser()}"


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn gridsvc errors into a clear message on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except GridsvcError as exc:
            import typer  # loaded by every command that gets here (the quick start does not)

            raise typer.Exit(report_error(exc)) from None

    return wrapper


def report_error(exc: GridsvcError) -> int:
    """Print a gridsvc error on stderr as every command does; return its exit code."""
    if isinstance(exc, InvalidInput):
        err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        return EXIT_BAD_INPUT
    if isinstance(exc, DatabaseUnavailable):
        err.print(f"[bold red]database unavailable:[/] {exc}", highlight=False)
        return EXIT_FAILED
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    return EXIT_FAILED
