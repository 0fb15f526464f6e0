"""``ileti send`` and ``ileti report``: send-sms and get-report through the client against
a running ileti, credentials from options or ILETI_KEY / ILETI_HASH / ILETI_SECRET /
ILETI_BASE_URL; readable output and ``--json``; refusals as one line."""

from __future__ import annotations

import json

from ileti.testing.server import Sandbox
from tests.support.cli import failed, invoke, ok
from tests.support.sandbox import Made, balance, make_account, outbox
from tests.support.spec import MESSAGES

A, B = "+905330000001", "+905330000002"


def env_of(made: Made) -> dict[str, str | None]:
    return {
        "ILETI_KEY": made.key,
        "ILETI_HASH": made.hash,
        "ILETI_BASE_URL": made.base_url,
        "ILETI_SECRET": None,
    }


def test_send_and_report(sandbox: Sandbox) -> None:
    made = make_account(sandbox)
    sent = ok(
        invoke(
            ["send", "--to", A, "--to", "0533 000 00 02", "--text", "Merhaba", "--sender", "ILETI"],
            env_of(made),
        )
    )
    assert sent.stdout.startswith("order ") and sent.stdout.endswith(": 2 recipient(s)\n")
    order_id = sent.stdout.split()[1].rstrip(":")
    stored = outbox(sandbox, made)
    assert sorted((m["recipient"], m["text"], m["order_id"]) for m in stored) == [
        (A, "Merhaba", int(order_id)),
        (B, "Merhaba", int(order_id)),
    ]
    assert balance(sandbox, made) == 98

    shown = ok(invoke(["report", order_id], env_of(made))).stdout.splitlines()
    assert shown[0] == f"order {order_id}: 113 in progress"
    assert shown[2] == "  2 message(s): 0 delivered, 0 undelivered, 2 waiting; 2 credit(s)"
    assert sorted(shown[3:]) == [f"  {A}  110 sending", f"  {B}  110 sending"]

    data = json.loads(ok(invoke(["report", order_id, "--all", "--json"], env_of(made))).stdout)
    assert (data["id"], data["total"], data["price"], data["sender"]) == (order_id, 2, 2, "ILETI")
    assert sorted(m["number"] for m in data["messages"]) == [A, B]


def test_send_json_with_options_and_the_secret(sandbox: Sandbox) -> None:
    made = make_account(sandbox)
    done = ok(
        invoke(
            [
                "send",
                "--to",
                A,
                "--text",
                "Kod: 1234",
                "--sender",
                "ILETI",
                "--json",
                "--key",
                made.key,
                "--secret",
                made.secret,
                "--base-url",
                made.base_url,
            ],
            {"ILETI_KEY": None, "ILETI_HASH": None},
        )
    )
    data = json.loads(done.stdout)
    assert data["recipients"] == 1 and data["order"]["id"].isdigit()
    assert [m["text"] for m in outbox(sandbox, made)] == ["Kod: 1234"]


def test_a_refusal_is_one_line_and_nothing_is_sent(sandbox: Sandbox) -> None:
    made = make_account(sandbox)
    refused = invoke(["send", "--to", A, "--text", "Merhaba", "--sender", "NOTMINE"], env_of(made))
    failed(refused, f"450 {MESSAGES[450]} (sender not approved for the account)", 1)
    failed(invoke(["report", "999999"], env_of(made)), f"455 {MESSAGES[455]}", 1)
    failed(
        invoke(["send", "--to", A, "--text", " ", "--sender", "ILETI"], env_of(made)),
        "text is empty",
        2,
    )
    assert outbox(sandbox, made) == []
    assert balance(sandbox, made) == 100


def test_missing_credentials_are_named(sandbox: Sandbox) -> None:
    none: dict[str, str | None] = {"ILETI_KEY": None, "ILETI_HASH": None, "ILETI_SECRET": None}
    failed(
        invoke(["send", "--to", A, "--text", "x", "--sender", "ILETI"], none),
        "give --key or set ILETI_KEY",
        2,
    )
    failed(invoke(["report", "1", "--key", "k"], none), "give --hash", 2)


def test_an_unreachable_server_is_one_line() -> None:
    env: dict[str, str | None] = {
        "ILETI_KEY": "k",
        "ILETI_HASH": "h",
        "ILETI_BASE_URL": "http://127.0.0.1:9/v1/",
    }
    failed(invoke(["report", "1"], env), "get-report: ConnectError", 1)
