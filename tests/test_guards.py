"""Guards over the test suite itself (an AST walk over ``tests/test_*.py``):

* a test module imports helpers from ``tests.support`` only: never another test
  module, ``tests.conftest`` or anything else under ``tests``;
* only ``tests/support/stored.py`` (and the database plumbing in
  ``tests/support/databases.py``) reach below the API: no test module imports
  ``sqlalchemy`` or ``ileti.store``, except the uses listed in ``BELOW_THE_API``;
* the spec's messages are written once, in ``tests/support/spec.py``: no other module
  spells one out, except the literals listed in ``SPELLED_OUT``.

The two lists hold what the tests of send-sms, delivery, webhooks, rate limits and
the outbox still do in their test bodies, until those are rewritten; each guard also
fails when a listed exception is no longer there, so the lists only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.spec import MESSAGES

TESTS = Path(__file__).parent
TEST_MODULES = sorted(TESTS.glob("test_*.py"))
SUPPORT_MODULES = sorted((TESTS / "support").glob("*.py"))

#: (test module, what it imports) below the API that a test body still uses.
BELOW_THE_API = {
    ("test_send_sms.py", "sqlalchemy"),
    ("test_send_sms.py", "ileti.store.schema.orders"),
}
#: (module, message) spelled out in a test body.
SPELLED_OUT = {
    ("test_outbox.py", MESSAGES[111]),
    ("test_outbox.py", MESSAGES[112]),
}


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports, at any depth; ``from m
    import n`` gives ``m.n``, a relative import a name starting with dots."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (f"{node.module}." if node.module else "")
            found.extend((node.lineno, base + alias.name) for alias in node.names)
    return sorted(found)


def refused(name: str) -> bool:
    """An import a test module must not make: relative, or of ``tests`` outside
    ``tests.support``."""
    return name.startswith(".") or (
        name.split(".")[0] == "tests" and not name.startswith("tests.support.")
    )


def below(name: str) -> bool:
    """An import that reaches below the API: the database itself or ileti's store."""
    return name.split(".")[0] == "sqlalchemy" or name.split(".")[:2] == ["ileti", "store"]


def test_there_are_test_modules_to_guard() -> None:
    assert len(TEST_MODULES) >= 15
    assert TESTS / "test_guards.py" in TEST_MODULES


def test_the_guards_see_what_they_must_refuse(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text(
        "import tests.test_auth\n"
        "from tests import conftest\n"
        "from tests.conftest import auth\n"
        "from . import test_cli\n"
        "from .helpers import call\n"
        "def f():\n"
        "    from tests.test_send_sms import order_of\n"
        "    import sqlalchemy as sa\n"
        "from ileti.store import webhooks\n"
        "from ileti.store.schema import orders\n"
        "from tests.support.http import call\n"
        "from ileti.api.runtime import Runtime\n"
    )
    found = [name for _, name in imports(module)]
    assert [n for n in found if refused(n)] == [
        "tests.test_auth",
        "tests.conftest",
        "tests.conftest.auth",
        ".test_cli",
        ".helpers.call",
        "tests.test_send_sms.order_of",
    ]
    assert [n for n in found if below(n)] == [
        "sqlalchemy",
        "ileti.store.webhooks",
        "ileti.store.schema.orders",
    ]


@pytest.mark.parametrize("path", TEST_MODULES, ids=lambda p: p.name)
def test_test_modules_import_helpers_from_tests_support_only(path: Path) -> None:
    wrong = [f"{path.name}:{line}: {name}" for line, name in imports(path) if refused(name)]
    assert wrong == [], "a test module imports from tests.support only"


def test_only_tests_support_reaches_below_the_api() -> None:
    found = {(path.name, name) for path in TEST_MODULES for _, name in imports(path) if below(name)}
    assert found - BELOW_THE_API == set(), "observe storage through tests/support/stored.py"
    assert BELOW_THE_API - found == set(), "no longer needed: remove from BELOW_THE_API"


def spelled_out(path: Path) -> set[tuple[str, str]]:
    strings = [
        node.value
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    ]
    texts = [s if isinstance(s, str) else s.decode("utf-8", "replace") for s in strings]
    return {(path.name, m) for m in MESSAGES.values() for text in texts if m in text}


def test_spec_messages_are_written_once() -> None:
    modules = [*TEST_MODULES, *(p for p in SUPPORT_MODULES if p.name != "spec.py")]
    modules.append(TESTS / "conftest.py")
    found = set().union(*(spelled_out(path) for path in modules))
    assert found - SPELLED_OUT == set(), "take messages from tests/support/spec.py"
    assert SPELLED_OUT - found == set(), "no longer spelled out: remove from SPELLED_OUT"
