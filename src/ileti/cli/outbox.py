"""``ileti outbox list``, ``search`` and ``wait``: what send-sms would have sent,
message by message; a search by recipient, sender, text, status and time; a wait for
a message (or the code in it) to a number."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from ileti.cli.common import Group, database_option, echo_json, fail, failures, open_store
from ileti.clock import format_local
from ileti.logs import visible, visible_json
from ileti.services import outbox as outbox_service
from ileti.services.accounts import AccountService
from ileti.services.codes import DEFAULT_PATTERN
from ileti.services.outbox import (
    DEFAULT_LIMIT,
    DEFAULT_WAIT,
    MAX_ID,
    MAX_LIMIT,
    MAX_WAIT,
    NotFound,
    OutboxQueryError,
    OutboxService,
    TimedOut,
    describe,
)
from ileti.services.watch import OutboxWatcher
from ileti.store import Store
from ileti.store.outbox import OutboxMessage


@click.group(cls=Group)
def outbox() -> None:
    """The sandbox outbox: every message send-sms accepted, sent or skipped."""


def _cut(text: str, width: int) -> str:
    """A table cell: on one line (whitespace runs as one space), control characters
    as visible escapes, at most ``width`` characters."""
    flat = visible(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _table(found: Iterator[OutboxMessage], *, with_account: bool) -> int:
    head = f"{'ID':>9}  {'ORDER':>9}  {'SUBMITTED':<19}  "
    head += f"{'ACCOUNT':<16}  " if with_account else ""
    head += f"{'SENDER':<11}  {'RECIPIENT':<16}  {'STATUS':<6}  {'REASON':<15}  {'PARTS':>5}  TEXT"
    click.echo(head)
    shown = 0
    for m in found:
        line = f"{m.id:>9}  {m.order_id:>9}  {format_local(m.submit_at):<19}  "
        line += f"{_cut(m.account_name, 16):<16}  " if with_account else ""
        line += (
            f"{m.sender:<11}  {_cut(m.recipient, 16):<16}  {m.status:<6}  "
            f"{m.reason or '-':<15}  {m.parts:>5}  {_cut(m.text, 50)}"
        )
        click.echo(line)
        shown += 1
    return shown


def _json(found: Iterator[OutboxMessage]) -> int:
    """A JSON array written one message (one line) at a time."""
    shown = 0
    for m in found:
        click.echo(
            ("[\n  " if shown == 0 else ",\n  ") + visible_json(describe(m)),
            nl=False,
        )
        shown += 1
    click.echo("\n]" if shown else "[]")
    return shown


@outbox.command(name="list")
@click.argument("key", required=False)
@click.option("--order", "order_id", type=click.IntRange(1, MAX_ID), help="Only this order.")
@click.option(
    "--limit", type=click.IntRange(min=1), help="Only the newest N messages (default: all)."
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one message a line.")
@database_option
def list_messages(key: str | None, order_id: int | None, limit: int | None, as_json: bool) -> None:
    """Messages of the account KEY (default: every account), newest first: order,
    sender, recipient, status, why skipped ones were skipped, parts, text."""
    with open_store() as store, failures():
        found = OutboxService(store).iterate(key=key, order_id=order_id, limit=limit)
        try:
            shown = _json(found) if as_json else _table(found, with_account=key is None)
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
    if not as_json and shown == 0:
        click.echo("No messages.", err=True)


#: The option of a field the service names, where the two differ.
_OPTIONS = {"pattern": "code"}


@contextlib.contextmanager
def _bad_values() -> Iterator[None]:
    """A value the outbox cannot use: one line naming its option, exit 2."""
    try:
        yield
    except OutboxQueryError as exc:
        option = f" (--{_OPTIONS.get(exc.field, exc.field)})" if exc.field else ""
        fail(f"{exc}{option}", 2)


def _print(found: list[OutboxMessage], *, as_json: bool, with_account: bool) -> None:
    try:
        shown = _json(iter(found)) if as_json else _table(iter(found), with_account=with_account)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    if not as_json and shown == 0:
        click.echo("No messages.", err=True)


async def _account_id(store: Store, key: str | None) -> int | None:
    """The account of ``key`` (AccountNotFound: exit 1); None without a key."""
    return (await AccountService(store).get(key)).id if key else None


@outbox.command(name="search")
@click.argument("key", required=False)
@click.option("--recipient", metavar="NUMBER", help="To this number (any accepted form).")
@click.option("--sender", help="From this sender name.")
@click.option("--order", "order_id", type=click.IntRange(1, MAX_ID), help="Only this order.")
@click.option("--text", help="Texts holding this (case-sensitive).")
@click.option("--status", type=click.Choice(["110", "111", "112"]), help="Only this status.")
@click.option("--since", metavar="TIME", help="Submitted at or after (Y-m-d[ H:i:s]).")
@click.option("--until", metavar="TIME", help="Submitted at or before (Y-m-d[ H:i:s]).")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="The newest N matches.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one message a line.")
@database_option
def search(
    key: str | None,
    recipient: str | None,
    sender: str | None,
    order_id: int | None,
    text: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Messages of the account KEY (default: every account) passing the filters,
    newest first, like ``list``."""

    async def main(store: Store) -> list[OutboxMessage]:
        found = outbox_service.filters(
            account_id=await _account_id(store, key),
            order=order_id,
            recipient=recipient,
            sender=sender,
            text=text,
            status=status,
            since=since,
            until=until,
        )
        return (await OutboxService(store).search(found, limit)).messages

    with open_store() as store, failures(), _bad_values():
        found = asyncio.run(main(store))
    _print(found, as_json=as_json, with_account=key is None)


@outbox.command(name="wait")
@click.argument("key")
@click.option("--recipient", metavar="NUMBER", required=True, help="To this number.")
@click.option("--sender", help="From this sender name.")
@click.option("--after", type=click.IntRange(1, MAX_ID), help="Only messages with a higher id.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, MAX_WAIT, min_open=True),
    default=DEFAULT_WAIT,
    show_default=True,
    help="Seconds.",
)
@click.option(
    "--code",
    "pattern",
    is_flag=False,
    flag_value=DEFAULT_PATTERN,
    default=None,
    metavar="[PATTERN]",
    help=f"Print the code in the message instead: PATTERN's first match, its group 1 if "
    f"it has one (default {DEFAULT_PATTERN}).",
)
@click.option("--json", "as_json", is_flag=True, help="The message as one JSON object.")
@database_option
def wait(
    key: str,
    recipient: str,
    sender: str | None,
    after: int | None,
    timeout: float,
    pattern: str | None,
    as_json: bool,
) -> None:
    """Wait for the newest message of the account KEY to NUMBER (one already there
    counts, unless --after excludes it) and print it, or with --code the code in it."""

    async def main(store: Store) -> Any:
        account_id = await _account_id(store, key)
        found = outbox_service.filters(
            account_id=account_id, recipient=recipient, sender=sender, after=after
        )
        compiled = outbox_service.pattern_of(pattern) if pattern is not None else None
        watcher = OutboxWatcher(store)
        watcher.start()
        try:
            service = OutboxService(store, watcher)
            if compiled is not None:
                return await service.code(found, compiled, wait=timeout, scope=account_id)
            return await service.wait(found, timeout=timeout, scope=account_id)
        finally:
            await watcher.stop()

    with open_store() as store, failures(), _bad_values():
        try:
            result = asyncio.run(main(store))
        except (TimedOut, NotFound) as exc:
            fail(str(exc), 1)
    if pattern is not None:
        click.echo(result.code)
    elif as_json:
        echo_json(describe(result), indent=None)
    else:
        _print([result], as_json=False, with_account=False)


@outbox.command(name="clear")
@click.argument("key")
@database_option
def clear(key: str) -> None:
    """Empty the outbox of the account KEY: its orders, messages, webhooks and inbound
    messages (as ``ileti state reset KEY``; the blacklist and balance are kept)."""
    from ileti.services.state import StateService

    async def main() -> Any:
        return await StateService(store).reset(key, blacklist=False)

    with open_store() as store, failures():
        report = asyncio.run(main())
    click.echo(
        f"Outbox of {key} cleared: {report.orders} orders, {report.messages} messages, "
        f"{report.webhooks} webhooks removed."
    )
