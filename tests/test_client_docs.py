"""docs/client.md's Python examples run as written against ileti (credentials in
ILETI_KEY / ILETI_HASH / ILETI_SECRET / ILETI_BASE_URL, as the page says)."""

from __future__ import annotations

import pytest

from ileti.testing.server import Sandbox
from tests.support.docs import python_blocks
from tests.support.sandbox import make_account
from tests.support.spec import MESSAGES

BLOCKS = python_blocks("client.md")


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 6


def test_the_examples_run(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made = make_account(sandbox)
    for name, value in (
        ("ILETI_KEY", made.key),
        ("ILETI_HASH", made.hash),
        ("ILETI_SECRET", made.secret),
        ("ILETI_BASE_URL", made.base_url),
    ):
        monkeypatch.setenv(name, value)
    for block in BLOCKS:
        exec(compile(block, "docs/client.md", "exec"), {"__name__": "__docs__"})
    printed = capsys.readouterr().out
    assert "Balance(amount=0.0, sms=100)" in printed
    assert f"456 {MESSAGES[456]}" in printed
    assert "delivered 111 17" in printed
