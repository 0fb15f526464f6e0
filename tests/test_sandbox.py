"""``ileti.testing.server.Sandbox``: ileti served from a thread of the test process, from
a migrated template database, with in-process transports; and the fixture's reset
(everything removed, fault rules included, global ones too, at once)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx

from ileti.client import AsyncClient, Client
from ileti.client import errors as e
from ileti.testing.handle import AccountSpec, Control, reset
from ileti.testing.server import Sandbox, migrated_template


def test_a_sandbox_serves_from_a_template_and_removes_its_database() -> None:
    template = migrated_template()
    assert template.is_file() and migrated_template() == template
    started = time.perf_counter()
    with Sandbox() as sandbox:
        took = time.perf_counter() - started
        assert httpx.get(f"{sandbox.url}/healthz").json()["status"] == "ok"
        path = sandbox.settings.database_url.removeprefix("sqlite:///")
        assert path != str(template)
    assert took < 5  # docs/benchmarks.md has the figure (bench/fixtures.py)
    assert not os.path.exists(path)


def test_in_process_transports_reach_the_same_app() -> None:
    spec = AccountSpec()
    with Sandbox() as sandbox, httpx.Client(base_url=sandbox.url) as http:
        reset(Control(http, spec, sandbox.admin_token), spec)
        with Client(
            spec.key, secret=spec.secret, base_url=sandbox.base_url, transport=sandbox.transport()
        ) as sms:
            sms.add_blacklist("+905330000001")

        async def read() -> list[str]:
            async with AsyncClient(
                spec.key, spec.hash, base_url=sandbox.base_url, transport=sandbox.async_transport()
            ) as sms:
                return [n async for n in sms.iter_blacklist()]

        assert asyncio.run(read()) == ["+905330000001"]
        with Client(spec.key, spec.hash, base_url=sandbox.base_url) as sms:  # the socket
            assert list(sms.iter_blacklist()) == ["+905330000001"]


def test_the_reset_removes_fault_rules_at_once_global_ones_too() -> None:
    spec = AccountSpec()
    with Sandbox() as sandbox, httpx.Client(base_url=sandbox.url) as http:
        control = Control(http, spec, sandbox.admin_token)
        reset(control, spec)
        control.request(
            "POST", "/faults", json={"kind": "api", "action": "get-sender", "code": 503}, admin=True
        )
        control.request(
            "POST", "/faults", json={"kind": "api", "action": "get-balance", "code": 503}
        )
        with Client(spec.key, spec.hash, base_url=sandbox.base_url, retries=0) as sms:
            for call in (sms.get_senders, sms.get_balance):  # the rules are cached now
                try:
                    call()
                except e.Unavailable:
                    pass
                else:
                    raise AssertionError("the fault rule did not fire")
            reset(control, spec)
            assert sms.get_senders() == ["ILETI"]
            assert sms.get_balance().sms == 1000
        assert control.request("GET", "/faults", admin=True) == {"faults": []}
