"""``ileti inbound KEY --from N --to CODE --text T``: simulate an SMS sent to an
account; an opt-out keyword sent to its short code blacklists the sender."""

from __future__ import annotations

import asyncio

import click

from ileti.cli.common import database_option, echo_json, fail, failures, open_store
from ileti.clock import format_local
from ileti.logs import visible
from ileti.services.accounts import AccountService
from ileti.services.inbound import InboundError, InboundService, Received
from ileti.store import Store


@click.command()
@click.argument("key")
@click.option("--from", "sender", required=True, metavar="NUMBER", help="The sender's mobile.")
@click.option("--to", "to", required=True, metavar="CODE", help="The number sent to.")
@click.option("--text", required=True, help="The message.")
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
@database_option
def inbound(key: str, sender: str, to: str, text: str, as_json: bool) -> None:
    """Simulate an SMS from NUMBER to the account KEY: kept; RET, IPTAL or STOP (alone
    or with the account's name) sent to its short code blacklists NUMBER; RET followed
    by the account's İYS brand code or name, sent to 3338, records an İYS RET."""

    async def main(store: Store) -> Received:
        account = await AccountService(store).get(key)
        return await InboundService(store).receive(account, sender, to, text)

    with open_store() as store, failures():
        try:
            got = asyncio.run(main(store))
        except InboundError as exc:
            fail(f"{exc} (--{exc.field})", 2)
    message = got.message
    if as_json:
        data = {
            "action": message.action,
            "keyword": got.keyword,
            "already_listed": got.keyword is not None and not got.added,
            "message": {
                "id": message.id,
                "from": message.sender,
                "to": message.recipient,
                "text": message.text,
                "received_at": format_local(message.received_at),
                "action": message.action,
            },
        }
        echo_json(data)
    elif got.keyword is None:
        click.echo(f"Inbound message {message.id} kept; no action.")
    elif message.action == "iys_ret":
        done = "recorded as an İYS RET" if got.added else "already RET in İYS"
        click.echo(f"Inbound message {message.id}: {visible(message.sender)} {done}.")
    else:
        done = "blacklisted" if got.added else "already listed"
        sender = visible(message.sender)
        click.echo(f"Inbound message {message.id}: {got.keyword}: {sender} {done}.")
