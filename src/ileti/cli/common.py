"""What every command shares: settings, opening the store, errors -> exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import click

from ileti import numbers
from ileti.clock import format_local
from ileti.config import ConfigError, Settings
from ileti.errors import ApiError
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


def settings() -> Settings:
    ctx = click.get_current_context()
    root = ctx.find_root()
    database = (ctx.obj or {}).get("database") or (root.obj or {}).get("database")
    try:
        return Settings.from_env(database_url=database)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@contextlib.contextmanager
def failures() -> Iterator[None]:
    """Known failures -> a one-line message and a non-zero exit, never a traceback."""
    try:
        yield
    except AccountNotFound as exc:
        click.echo(f"Error: no account with key {exc.args[0]!r}", err=True)
        sys.exit(1)
    except (AccountError, ConfigError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except ApiError as exc:
        click.echo(f"Error: {exc.code.value} {exc.code.message} ({exc})", err=True)
        sys.exit(1)
    except StoreError as exc:
        click.echo(f"Error: database: {exc}", err=True)
        sys.exit(1)


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
        "blacklist_count": account.blacklist_count,
        "created_at": format_local(account.created_at),
        "updated_at": format_local(account.updated_at),
    }


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def synced(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with failures():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
