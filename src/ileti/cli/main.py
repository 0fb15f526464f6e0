"""``ileti``: serve the API, migrate, manage accounts and blacklists."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from ileti import __version__
from ileti.cli.account import account
from ileti.cli.advance import advance
from ileti.cli.blacklist import blacklist
from ileti.cli.common import Group, database_option, failures, file_error, settings
from ileti.cli.consent import consent
from ileti.cli.demo import demo
from ileti.cli.fault import fault
from ileti.cli.inbound import inbound
from ileti.cli.outbox import outbox
from ileti.cli.relay import relay
from ileti.cli.send import report, send
from ileti.cli.state import state
from ileti.cli.user import user
from ileti.cli.webhook import webhook
from ileti.config import LOG_LEVELS, mask_url, unknown_variables

# What the store logs on a failure reaches the user as the command's one-line error;
# ``serve`` configures logging, so there it is shown (the root logger's handler).
logging.getLogger("ileti").addHandler(logging.NullHandler())


@click.group(cls=Group)
@click.version_option(__version__, prog_name="ileti")
@click.option(
    "--database",
    metavar="URL",
    help="Database URL (default: ILETI_DATABASE_URL, else sqlite:///ileti.db).",
)
@click.pass_context
def cli(ctx: click.Context, database: str | None) -> None:
    """ileti: a self-hostable iletiMerkezi SMS API v1 server."""
    for warning in unknown_variables():
        click.echo(warning, err=True)
    ctx.ensure_object(dict)
    if database:
        ctx.obj["database"] = database


def _exit_on_sigterm(_sig: int, _frame: FrameType | None) -> None:
    """Exit 0 now. Not ``sys.exit``: its SystemExit, raised in whatever the main thread
    runs, is ignored when that is a weakref callback or ``__del__`` (a garbage
    collection during start-up), and the process would go on as if never signalled."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@database_option
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API (migrating the database and loading ILETI_SEED first)."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from ileti.api.server import Bounds, protocol, run
    from ileti.logs import with_root_logger
    from ileti.services.state import seed_at_start
    from ileti.store import Store

    config = settings()
    with failures():
        store = Store(config)
        try:
            store.migrate()
            if config.seed is not None:
                # Here, so that a bad file is one line; each worker loads it again at its
                # start, which then changes nothing.
                seed_at_start(store, Path(config.seed))
        finally:
            store.close()
    # Workers are separate processes: they read their settings from the environment.
    os.environ["ILETI_DATABASE_URL"] = config.database_url
    click.echo(
        f"ileti {__version__} on http://{host}:{port}/v1/ "
        f"({mask_url(config.database_url)}, {workers} worker(s))",
        err=True,
    )
    # uvicorn re-raises the signal it shut down on once it has drained; a SIGTERM that
    # ended in a clean shutdown exits 0, not as killed by the signal. A SIGTERM before
    # the server has started (nothing to drain yet) exits 0 at once too.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    bounds = Bounds.of(config)
    run(
        uvicorn.Config(
            "ileti.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # The header limit, timeouts and connection cap: ileti/api/server.py.
            http=protocol(bounds),
            ws="none",
            timeout_keep_alive=config.keepalive_seconds,
            timeout_graceful_shutdown=config.shutdown_seconds,
            access_log=config.access_log,
            # uvicorn applies this in the main process and in every worker: ileti's lines
            # (root handler) and uvicorn's, at ILETI_LOG_LEVEL.
            log_config=with_root_logger(LOGGING_CONFIG, LOG_LEVELS[config.log_level]),
            log_level=config.log_level,
            proxy_headers=False,
            server_header=False,
        ),
        bounds,
    )


@cli.command()
@click.option(
    "--create-dirs",
    is_flag=True,
    help="Create the SQLite file's directory (with its parents) if it does not exist.",
)
@database_option
def migrate(create_dirs: bool) -> None:
    """Bring the database schema up to date."""
    from ileti.store import Store
    from ileti.store.engine import sqlite_directory
    from ileti.store.migrate import current, head

    config = settings()
    with failures():
        directory = sqlite_directory(config.database_url)
        if create_dirs and directory is not None:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                file_error("create directory", directory, exc)
        store = Store(config)
        try:
            store.migrate()
            click.echo(f"Database at revision {current(store.writer_engine)} (head {head()}).")
        finally:
            store.close()


cli.add_command(account)
cli.add_command(advance)
cli.add_command(blacklist)
cli.add_command(consent)
cli.add_command(demo)
cli.add_command(fault)
cli.add_command(outbox)
cli.add_command(relay)
cli.add_command(state)
cli.add_command(inbound)
cli.add_command(send)
cli.add_command(report)
cli.add_command(user)
cli.add_command(webhook)


def main() -> None:
    cli(prog_name="ileti")
