"""``ileti outbox list``: what send-sms would have sent, message by message."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import click

from ileti.cli.common import Group, database_option, failures, open_store
from ileti.clock import format_local
from ileti.services.outbox import MAX_ID, OutboxService, describe
from ileti.store.outbox import OutboxMessage


@click.group(cls=Group)
def outbox() -> None:
    """The sandbox outbox: every message send-sms accepted, sent or skipped."""


def _cut(text: str, width: int) -> str:
    flat = " ".join(text.split())
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
            ("[\n  " if shown == 0 else ",\n  ") + json.dumps(describe(m), ensure_ascii=False),
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
