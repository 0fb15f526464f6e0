"""schemathesis against a live ``ileti serve``: every operation of ``/openapi.json`` gets
requests generated from its schema (valid ones, and ones that break it), about half of
them with a seeded account's real key and hash (and its approved sender), so that they
get past authentication. Every answer must be: no 5xx, a status the operation
documents, the documented content type, a body valid against the documented schema
(the code's exact message included), and HTTP status = ``response.status.code``.

A bounded number of examples per operation and mode, derandomized (the same requests
every run), so that CI stays fast and a failure reproduces.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.processes import Server, serving

EXAMPLES = 15
KEY, SECRET = "schemathesis", "schemathesis-secret"
HASH = hmac.new(SECRET.encode(), KEY.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Server]:
    seed = tmp_path / "seed.json"
    account = {"name": "schemathesis", "key": KEY, "secret": SECRET, "senders": ["ILETI"]}
    account |= {"balance": 1_000_000, "blacklist": [{"number": "+905330000099"}]}
    seed.write_text(json.dumps({"version": 1, "accounts": [account]}))
    # Half the generated requests carry wrong credentials, all from 127.0.0.1: with the
    # authentication-failure brake on, everything after the 20th would be 429 unread.
    env = {"ILETI_SEED": str(seed), "ILETI_AUTH_FAILURE_LIMIT": "0"}
    with serving(database_url, tmp_path, env=env) as (server,):
        yield server


def no_server_error(_ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"


def status_is_code(_ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    code = response.json()["response"]["status"]["code"]
    assert code == response.status_code, f"HTTP {response.status_code}, body code {code}"


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_is_code,
]


def authenticated(body: Any) -> Any:
    """The body with the seeded account's credentials (and, for send-sms, its sender and
    a valid recipient beside the generated text)."""
    if isinstance(body, dict) and isinstance(body.get("request"), dict):
        request = body["request"]
        request["authentication"] = {"key": KEY, "hash": HASH}
        order = request.get("order")
        if isinstance(order, dict) and "sender" in order:
            order["sender"] = "ILETI"
            if isinstance(order.get("message"), dict):
                order["message"]["receipents"] = {"number": ["+905330000100"]}
    return body


def test_every_operation_answers_as_documented(live: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode), login=st.booleans())
            def run(case: schemathesis.Case, login: bool) -> None:
                if login:
                    case.body = authenticated(case.body)
                response = case.call(base_url=live.url, session=session, timeout=60)
                case.validate_response(response, checks=CHECKS)

            run()
    assert "Traceback" not in live.output(), live.tail()
