"""``ileti advance KEY``: dispatch an account's orders now and finalise their waiting
messages now (docs/sandbox.md, "Delivery control"), on the same service as the control
API's ``/_ileti/advance``."""

from __future__ import annotations

import asyncio
import dataclasses

import click

from ileti.cli.common import database_option, echo_json, fail, failures, open_store, settings
from ileti.services.accounts import AccountService
from ileti.services.carrier import Advanced, Carrier, DeliveryError


@click.command()
@click.argument("key")
@click.option("--order", type=int, help="Only this order (default: every one of KEY's).")
@click.option(
    "--status",
    type=click.Choice(["111", "112"]),
    help="The final status (default: the carrier's policy: 111 but for test numbers "
    "and recipient fault rules).",
)
@database_option
def advance(key: str, order: int | None, status: str | None) -> None:
    """Dispatch KEY's orders now (scheduled ones too) and finalise their waiting messages
    now, queuing their webhooks; prints what was moved as JSON."""
    config = settings()
    with open_store() as store:

        async def main() -> Advanced:
            account = await AccountService(store).get(key)
            carrier = Carrier(store, config)
            return await carrier.advance(account.id, order, int(status) if status else None)

        with failures():
            try:
                moved = asyncio.run(main())
            except DeliveryError as exc:
                fail(f"--{exc.field}: {exc}" if exc.field else str(exc), 1)
    echo_json(dataclasses.asdict(moved))
