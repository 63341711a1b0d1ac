"""``gridsvc serve``: the API and pages, on the embedded PostGIS or GRIDSVC_DATABASE_URL."""

from __future__ import annotations

import logging
import signal

import typer

from gridsvc.cli.common import handle_errors, settings

log = logging.getLogger(__name__)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@handle_errors
def serve(
    host: str = typer.Option(None, help="address to listen on (default: settings, 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default: settings, 8000)"),
    stop_db: bool = typer.Option(
        False, "--stop-db", help="stop the embedded PostGIS on exit even if it was running before"),
    access_log: bool = typer.Option(
        False, "--access-log", help="log every request (costs ~15% of lookup throughput)"),
) -> None:
    """Serve the API. The embedded PostGIS is started (and migrated) on demand, and stopped on
    exit when this command started it."""
    import uvicorn

    from gridsvc.api.app import create_app
    from gridsvc.db.embedded import EmbeddedPostgres

    s = settings()
    embedded = EmbeddedPostgres(s.data_dir) if s.embedded else None
    was_running = embedded.is_running() if embedded else True
    app = create_app(s)
    # uvicorn shuts down on SIGTERM, then raises the signal again; the default action would end
    # the process before the finally below, leaving the embedded PostGIS running (docker stop,
    # systemd). Exiting normally instead lets it stop the database as Ctrl-C does.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(app, host=host or s.host, port=port or s.port, log_level="info",
                    access_log=access_log)
    finally:
        if embedded is not None and (stop_db or not was_running):
            log.info("stopping the embedded PostGIS")
            embedded.stop()
