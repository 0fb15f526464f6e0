"""``ileti send`` and ``ileti report``: send-sms and get-report through ``ileti.client``,
against any server that speaks v1 (this one, or the real service): credentials from
the options or ``ILETI_KEY`` / ``ILETI_HASH`` (or ``ILETI_SECRET``) / ``ILETI_BASE_URL``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from ileti.cli.common import echo_json, fail
from ileti.client import Client
from ileti.client.errors import ApiError, IletiError, InvalidRequest, UnexpectedResponse
from ileti.logs import visible

F = TypeVar("F", bound=Callable[..., Any])
LOCAL = "http://127.0.0.1:8080/v1/"


def credentials(fn: F) -> F:
    options = (
        click.option("--key", envvar="ILETI_KEY", help="API key (default: ILETI_KEY)."),
        click.option("--hash", "hash_", envvar="ILETI_HASH", help="API hash (ILETI_HASH)."),
        click.option(
            "--secret",
            envvar="ILETI_SECRET",
            help="API secret, to compute the hash (ILETI_SECRET).",
        ),
        click.option(
            "--base-url",
            envvar="ILETI_BASE_URL",
            default=LOCAL,
            show_default=True,
            help="The v1 base URL (ILETI_BASE_URL); the real service: "
            "https://api.iletimerkezi.com/v1/",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    )
    for option in reversed(options):
        fn = option(fn)
    return fn


@contextmanager
def client_of(
    key: str | None, hash_: str | None, secret: str | None, base_url: str
) -> Iterator[Client]:
    if not key:
        fail("give --key or set ILETI_KEY", 2)
    if not hash_ and not secret:
        fail("give --hash (ILETI_HASH) or --secret (ILETI_SECRET)", 2)
    try:
        found = Client(key, hash_, secret=secret, base_url=base_url, timeout=30)
    except InvalidRequest as exc:
        fail(str(exc), 2)
    with found, refusals():
        yield found


@contextmanager
def refusals() -> Iterator[None]:
    """What the server or the client refused, as one line and exit 1 (2: a bad argument
    the client caught before sending)."""
    try:
        yield
    except InvalidRequest as exc:
        fail(str(exc), 2)
    except ApiError as exc:
        fail(f"{exc.code} {exc.message} ({exc.meaning})", 1)
    except UnexpectedResponse as exc:
        fail(f"unexpected answer (HTTP {exc.http_status}): {exc.reason}", 1)
    except IletiError as exc:
        fail(str(exc), 1)


@click.command()
@click.option("--to", "to", multiple=True, required=True, help="A recipient (repeatable).")
@click.option("--text", required=True, help="The text.")
@click.option("--sender", required=True, help="An approved sender, e.g. ILETI.")
@click.option("--schedule", help="Send at this time, dd/MM/yyyy HH:mm (Istanbul); default: now.")
@click.option(
    "--iys/--no-iys",
    default=False,
    show_default=True,
    help="A commercial message: only to recipients with İYS consent (then --iys-list).",
)
@click.option(
    "--iys-list", type=click.Choice(["BIREYSEL", "TACIR"]), default="BIREYSEL", show_default=True
)
@credentials
def send(
    to: tuple[str, ...],
    text: str,
    sender: str,
    schedule: str | None,
    iys: bool,
    iys_list: str,
    key: str | None,
    hash_: str | None,
    secret: str | None,
    base_url: str,
    as_json: bool,
) -> None:
    """Send TEXT to every --to as one order (send-sms); prints the order's id."""
    with client_of(key, hash_, secret, base_url) as sms:
        order = sms.send_sms(list(to), text, sender=sender, send_at=schedule, iys=iys,
                             iys_list=iys_list)  # fmt: skip
    if as_json:
        echo_json({"order": {"id": order.id}, "recipients": len(to)})
    else:
        click.echo(f"order {visible(order.id)}: {len(to)} recipient(s)")


@click.command()
@click.argument("order")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--all", "every", is_flag=True, help="Every message (all pages).")
@credentials
def report(
    order: str,
    page: int,
    every: bool,
    key: str | None,
    hash_: str | None,
    secret: str | None,
    base_url: str,
    as_json: bool,
) -> None:
    """ORDER's status and its messages (get-report)."""
    with client_of(key, hash_, secret, base_url) as sms:
        found = sms.get_report(order, page=page)
        messages = list(sms.iter_report(order)) if every else list(found.messages)
    if as_json:
        data: dict[str, Any] = dataclasses.asdict(found)
        data["messages"] = [dataclasses.asdict(m) for m in messages]
        echo_json(data)
        return
    states = {113: "in progress", 114: "completed", 115: "failed or cancelled"}
    click.echo(f"order {visible(found.id)}: {found.status} {states.get(found.status, '')}".rstrip())
    click.echo(
        f"  sender {visible(found.sender)}, submitted {found.submit_at}, sent {found.send_at}"
    )
    click.echo(
        f"  {found.total} message(s): {found.delivered} delivered, {found.undelivered} "
        f"undelivered, {found.waiting} waiting; {found.price} credit(s)"
    )
    words = {110: "sending", 111: "delivered", 112: "undelivered"}
    for message in messages:
        click.echo(f"  {visible(message.number)}  {message.status} {words.get(message.status, '')}")
