"""``ileti webhook list|replay|test``: the webhook log, a replay, a test webhook. A
queued row is POSTed by a running server's sender, like any other."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from ileti.cli.common import Group, database_option, echo_json, fail, failures, open_store
from ileti.clock import format_local
from ileti.logs import safe_url, visible
from ileti.services.accounts import AccountService
from ileti.services.webhooks import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    REPORT_STATUSES,
    STATUSES,
    NoWebhookUrl,
    WebhookLog,
    WebhookNotFound,
)
from ileti.store import Store
from ileti.store.webhooks import Webhook
from ileti.values import MAX_ID


def _time(at: int | None) -> str | None:
    return format_local(at) if at is not None else None


def describe(row: Webhook) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "order_id": row.order_id,
        "url": safe_url(row.url),
        "body": row.payload,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "last_attempt_at": _time(row.last_attempt_at),
        "next_attempt_at": _time(row.next_attempt_at),
        "delivered_at": _time(row.delivered_at),
        "history": [
            {
                "at": _time(t.at),
                "status": "failed" if t.error is not None else "delivered",
                "error": t.error,
                "http_status": t.http_status,
                "reply": t.reply,
            }
            for t in row.history
        ],
    }


def _line(row: Webhook) -> str:
    last = _time(row.last_attempt_at) or "-"
    error = visible(row.last_error or "-")
    return (
        f"{row.id:>9}  {row.message_id:>9}  {row.status:<9}  {row.attempts:>8}  {last:<19}  "
        f"{safe_url(row.url)}  {error}"
    )


@click.group(cls=Group)
def webhook() -> None:
    """Delivery-report webhooks: the log, replays, test webhooks."""


@webhook.command(name="list")
@click.argument("key", required=False)
@click.option("--status", type=click.Choice(STATUSES), help="Only webhooks in this state.")
@click.option("--order", "order_id", type=click.IntRange(1, MAX_ID), help="Only this order's.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="The newest N.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, with each attempt.")
@database_option
def list_webhooks(
    key: str | None, status: str | None, order_id: int | None, limit: int, as_json: bool
) -> None:
    """Webhooks of the account KEY (default: every account), newest first: status,
    attempts, the last attempt and error, the URL (without its credentials)."""

    async def main(store: Store) -> list[Webhook]:
        account_id = (await AccountService(store).get(key)).id if key else None
        page = await WebhookLog(store).page(
            account_id, limit=limit, order_id=order_id, status=status
        )
        return page.webhooks

    with open_store() as store, failures():
        found = asyncio.run(main(store))
    if as_json:
        echo_json([describe(w) for w in found])
        return
    if not found:
        click.echo("No webhooks.", err=True)
        return
    click.echo(
        f"{'ID':>9}  {'MESSAGE':>9}  {'STATUS':<9}  {'ATTEMPTS':>8}  {'LAST ATTEMPT':<19}  "
        "URL  LAST ERROR"
    )
    for row in found:
        click.echo(_line(row))


def _queued(row: Webhook, as_json: bool, what: str) -> None:
    if as_json:
        echo_json(describe(row))
    else:
        click.echo(f"{what} queued as webhook {row.id} to {safe_url(row.url)}.")


@webhook.command()
@click.argument("webhook_id", metavar="ID", type=click.IntRange(1, MAX_ID))
@click.option("--json", "as_json", is_flag=True, help="Print the new row as JSON.")
@database_option
def replay(webhook_id: int, as_json: bool) -> None:
    """Queue webhook ID's exact body again, due now, to its account's current URL."""
    with open_store() as store, failures():
        try:
            row = asyncio.run(WebhookLog(store).replay(webhook_id))
        except WebhookNotFound:
            fail(f"no webhook with id {webhook_id}", 1)
        except NoWebhookUrl as exc:
            fail(f"{exc}: set one with ileti account update KEY --webhook-url URL", 1)
    _queued(row, as_json, f"Webhook {webhook_id}")


@webhook.command()
@click.argument("key")
@click.option(
    "--status",
    type=click.Choice(REPORT_STATUSES),
    default="delivered",
    show_default=True,
    help="What the sample report says.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new row as JSON.")
@database_option
def test(key: str, status: str, as_json: bool) -> None:
    """Queue a sample delivery report to the webhook URL of the account KEY."""

    async def main(store: Store) -> Webhook:
        account = await AccountService(store).get(key)
        return await WebhookLog(store).test(account, status)

    with open_store() as store, failures():
        try:
            row = asyncio.run(main(store))
        except NoWebhookUrl as exc:
            fail(f"{exc}: set one with ileti account update {key} --webhook-url URL", 1)
    _queued(row, as_json, "A test report")
