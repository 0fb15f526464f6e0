"""What every command shares: settings, opening the store, errors -> exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ileti import numbers
from ileti.clock import format_local
from ileti.config import ConfigError, Settings
from ileti.errors import ApiError
from ileti.logs import visible, visible_json
from ileti.models import Account
from ileti.services.accounts import AccountError, AccountService
from ileti.services.blacklist import BlacklistService
from ileti.store import AccountNotFound, Store, StoreError

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def database_option(fn: F) -> F:
    """``--database URL`` on a command (overrides the group's and ILETI_DATABASE_URL)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(dict)["database"] = value

    return click.option(
        "--database",
        metavar="URL",
        expose_value=False,
        callback=remember,
        is_eager=True,
        help="Database URL (default: ILETI_DATABASE_URL, else sqlite:///ileti.db).",
    )(fn)


class Refused(Exception):
    """An operation ileti refuses (exit 1), e.g. a balance that would go below zero."""


class Group(click.Group):
    """A command group whose errors are one line, like every other error of ``ileti``.

    Without a command it prints its help and exits 0. click's own errors (an unknown
    option, a bad value, a missing argument) are printed as one line, exit 2.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        args = sys.argv[1:] if args is None else list(args)
        for number, arg in enumerate(args, 1):
            if not _utf8(arg):  # bytes that are not UTF-8 (Python keeps them as surrogates)
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                fail(f"argument {number} is not UTF-8: {visible(shown)}", 2)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            hint = f" Try '{exc.ctx.command_path} --help' for help." if exc.ctx else ""
            fail(exc.format_message() + hint, exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fail(message: str, code: int) -> NoReturn:
    """``Error: message`` as one line on stderr, then exit ``code``."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    click.echo(f"Error: {visible(line, backslashes=False)}", err=True)
    sys.exit(code)


def settings() -> Settings:
    """The settings (``--database`` over ILETI_DATABASE_URL); exit 2 on a bad value."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    database = (ctx.obj or {}).get("database") or (root.obj or {}).get("database")
    try:
        return Settings.from_env(database_url=database)
    except ConfigError as exc:
        message = str(exc)
        if database and exc.variable == "ILETI_DATABASE_URL":
            message = "--database" + message.removeprefix(exc.variable)
        fail(message, 2)


def _database_error(exc: SQLAlchemyError) -> str:
    """The driver's own first line (``connection failed: ...``), without SQLAlchemy's
    decoration."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


@contextlib.contextmanager
def failures() -> Iterator[None]:
    """Known failures -> a one-line message and a non-zero exit, never a traceback:
    1 for a refused or failed operation, 2 for a bad argument or setting."""
    try:
        yield
    except AccountNotFound as exc:
        fail(f"no account with key {exc.args[0]!r}", 1)
    except Refused as exc:
        fail(str(exc), 1)
    except (AccountError, ConfigError) as exc:
        fail(str(exc), 2)
    except ApiError as exc:
        fail(f"{exc.code.value} {exc.code.message} ({exc})", 1)
    except StoreError as exc:
        fail(f"database: {exc}", 1)
    except SQLAlchemyError as exc:
        fail(f"database: {_database_error(exc)}", 1)


def file_error(doing: str, path: object, exc: OSError) -> NoReturn:
    """A file that cannot be read or written (``doing``: read, write, ...): one line,
    exit 1."""
    fail(f"cannot {doing} {path}: {exc.strerror or exc}", 1)


@contextlib.contextmanager
def open_store(migrate: bool = True) -> Iterator[Store]:
    with failures():
        store = Store(settings())
        try:
            if migrate:
                store.migrate()
            store.start()
            yield store
        finally:
            store.close()


def run(store: Store, work: Callable[[AccountService, BlacklistService], Awaitable[T]]) -> T:
    """Run async service calls against an open store."""

    async def main() -> T:
        return await work(AccountService(store), BlacklistService(store))

    with failures():
        return asyncio.run(main())


def account_dict(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "key": account.key,
        "api_access": account.api_access,
        "allow_ips": list(account.allow_ips),
        "senders": list(account.senders),
        "balance": account.balance,
        "unit_price": f"{account.unit_price / 1_000_000:.6f}".rstrip("0").rstrip("."),
        "amount": account.amount,
        "brand_code": account.brand_code,
        "test_number": numbers.e164(account.test_number) if account.test_number else None,
        "webhook_url": account.webhook_url,
        "strict": account.strict,
        "rate_limit": account.rate_limit,
        "short_code": account.short_code,
        "blacklist_count": account.blacklist_count,
        "created_at": format_local(account.created_at),
        "updated_at": format_local(account.updated_at),
    }


def echo_json(value: Any, indent: int | None = 2) -> None:
    """``value`` as JSON, with nothing in it a terminal would act on
    (``ileti.logs.visible_json``)."""
    click.echo(visible_json(value, indent))
