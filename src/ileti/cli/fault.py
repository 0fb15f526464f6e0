"""``ileti fault add|list|remove``: the sandbox's fault rules (docs/sandbox.md,
"Faults"), on the same service as the control API's ``/_ileti/faults``. A rule added
here reaches running instances within their refresh interval."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from ileti.cli.common import Group, database_option, echo_json, fail, failures, open_store
from ileti.clock import format_local
from ileti.services.accounts import AccountService
from ileti.services.faults import (
    KINDS,
    FaultError,
    FaultNotFound,
    FaultService,
    FaultSpec,
)
from ileti.store import Store
from ileti.store.faults import Fault

T = TypeVar("T")

#: The option that sets each field of a rule, for one-line errors.
_OPTIONS = {
    "kind": "--kind",
    "action": "--action",
    "code": "--code",
    "pattern": "--pattern",
    "remaining": "--times",
    "probability": "--probability",
    "latency_ms": "--latency-ms",
    "timeout": "--timeout",
    "ttl_seconds": "--ttl",
}


def _run(store: Store, work: Callable[[FaultService, AccountService], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work(FaultService(store), AccountService(store))

    with failures():
        try:
            return asyncio.run(main())
        except FaultError as exc:
            option = _OPTIONS.get(exc.field or "", "")
            fail(f"{option}: {exc}" if option else str(exc), 2)
        except FaultNotFound as exc:
            fail(f"no fault rule {exc.args[0]}", 1)


def rule_dict(rule: Fault) -> dict[str, Any]:
    return {
        "id": rule.id,
        "key": rule.account_key,
        "kind": rule.kind,
        "action": rule.action,
        "code": rule.code,
        "pattern": rule.pattern,
        "remaining": rule.remaining,
        "probability": rule.probability,
        "latency_ms": rule.latency_ms,
        "timeout": rule.timeout,
        "expires_at": format_local(rule.expires_at) if rule.expires_at is not None else None,
        "created_at": format_local(rule.created_at),
    }


@click.group(cls=Group)
def fault() -> None:
    """Fault rules: injected v1 errors and latency, recipient and webhook failures."""


@fault.command(name="add")
@click.argument("key", required=False)
@click.option("--global", "every", is_flag=True, help="For every account (instead of KEY).")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="What the rule breaks.")
@click.option("--action", help="api: the v1 action (default: every action).")
@click.option(
    "--code",
    type=int,
    help="api: a v1 error code; recipient: 112 or 110; "
    "webhook: the HTTP status the receiver 'answers'.",
)
@click.option("--pattern", help="recipient: a number, or a glob such as +90555*.")
@click.option("--times", type=int, help="Only the next N matches (default: all).")
@click.option("--probability", type=float, help="Fire with this probability, 0 to 1.")
@click.option("--latency-ms", type=int, help="api: wait this long before answering.")
@click.option("--timeout", is_flag=True, help="webhook: the POST times out.")
@click.option("--ttl", type=float, help="Seconds until the rule expires.")
@database_option
def add(
    key: str | None,
    every: bool,
    kind: str,
    action: str | None,
    code: int | None,
    pattern: str | None,
    times: int | None,
    probability: float | None,
    latency_ms: int | None,
    timeout: bool,
    ttl: float | None,
) -> None:
    """Add a fault rule for the account KEY (or --global); prints it as JSON."""
    if (key is None) == (not every):
        fail("give either KEY or --global", 2)
    spec = FaultSpec(
        kind=kind,
        action=action,
        code=code,
        pattern=pattern,
        remaining=times,
        probability=probability,
        latency_ms=latency_ms,
        timeout=timeout,
        ttl_seconds=ttl,
    )

    async def work(faults: FaultService, accounts: AccountService) -> Fault:
        owner = (await accounts.get(key)).id if key is not None else None
        return await faults.add(spec, owner)

    with open_store() as store:
        echo_json(rule_dict(_run(store, work)))


@fault.command(name="list")
@click.argument("key", required=False)
@database_option
def list_rules(key: str | None) -> None:
    """Every rule as JSON, or the account KEY's and the global ones."""

    async def work(faults: FaultService, accounts: AccountService) -> list[Fault]:
        owner = (await accounts.get(key)).id if key is not None else None
        return await faults.list(owner)

    with open_store() as store:
        echo_json([rule_dict(rule) for rule in _run(store, work)])


@fault.command(name="remove")
@click.argument("rule_id", metavar="ID", type=int)
@database_option
def remove(rule_id: int) -> None:
    """Remove the rule ID."""

    async def work(faults: FaultService, _accounts: AccountService) -> None:
        await faults.remove(rule_id, None)

    with open_store() as store:
        _run(store, work)
    click.echo(f"Removed fault rule {rule_id}.")
