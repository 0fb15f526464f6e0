"""The pytest plugin (entry point ``pytest11: ileti``): an iletiMerkezi sandbox for any
test suite, in one line.

* ``ileti_server`` (session): ileti in this process, on a free port (or
  ``ILETI_TEST_PORT``) and a fresh SQLite database; ``.url``, ``.base_url``,
  ``.admin_token``, in-process transports.
* ``ileti`` (per test): the sandbox reset (every order, message, webhook, blacklist
  entry, consent and fault rule gone) and a ready account seeded afresh; see
  ``ileti.testing.handle.Ileti``.
* ``@pytest.mark.ileti(balance=..., senders=[...], brand_code=..., ...)`` configures that
  account (``AccountSpec``'s fields).
* ``ileti_official_sdk``: the provider's SDK pointed at the sandbox (skips the test when
  ``iletimerkezi`` is not importable).

Importing this module imports only pytest: the server starts (and is imported) when a
test first asks for a fixture. docs/testing.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ileti.testing.handle import Ileti
    from ileti.testing.server import Sandbox

PORT_VARIABLE = "ILETI_TEST_PORT"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ileti(**account): configure the ileti fixture's account (balance, senders, "
        "brand_code, test_number, strict, webhook_url, rate_limit, short_code, "
        "api_access, blacklist, unit_price, name, key, secret)",
    )


@pytest.fixture(scope="session")
def ileti_server() -> Iterator[Sandbox]:
    """ileti serving from this process for the whole session."""
    from ileti.testing.server import Sandbox

    raw = os.environ.get(PORT_VARIABLE, "").strip()
    try:
        port = int(raw) if raw else 0
    except ValueError:
        raise pytest.UsageError(f"{PORT_VARIABLE} must be a port number, got {raw!r}") from None
    sandbox = Sandbox(port=port).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="session")
def _ileti_http(ileti_server: Sandbox) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=ileti_server.url, timeout=60) as http:
        yield http


@pytest.fixture
def ileti(
    request: pytest.FixtureRequest, ileti_server: Sandbox, _ileti_http: Any
) -> Iterator[Ileti]:
    """A clean sandbox and a ready account for this test."""
    from ileti.testing.handle import AccountSpec, Control, Ileti, reset

    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("ileti"))):
        options.update(marker.kwargs)  # the closest marker wins
    spec = AccountSpec.of(options)
    control = Control(_ileti_http, spec, ileti_server.admin_token)
    reset(control, spec)
    handle = Ileti(spec, ileti_server.url, control, ileti_server)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def ileti_official_sdk(ileti: Ileti) -> Any:
    """The provider's Python SDK pointed at the sandbox (skipped when not importable)."""
    try:
        return ileti.official_sdk()
    except ImportError as exc:
        pytest.skip(f"the iletimerkezi SDK is not importable: {exc}")
