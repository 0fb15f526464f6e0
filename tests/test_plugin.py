"""The pytest plugin, as a test suite uses it: docs/testing.md's example files are
written to a directory and run by pytest in a subprocess (the plugin loaded by its
entry point when installed, else with ``-p ileti.testing.plugin``); every example
passes. Also: the plugin's import is light, and the marker refuses unknown options."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.support.docs import example_files

pytest_plugins = ("pytester",)


def plugin_args() -> list[str]:
    """``-p ileti.testing.plugin`` unless the entry point is installed (loading it twice
    would be refused)."""
    installed = any(ep.name == "ileti" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "ileti.testing.plugin"]


def test_the_documented_examples_pass(pytester: pytest.Pytester) -> None:
    files = example_files("testing.md")
    assert {"test_login.py", "test_faults.py", "test_without_a_socket.py"} <= set(files)
    pytester.makepyfile(**{name.removesuffix(".py"): code for name, code in files.items()})
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", "-rs")
    sdk = 1 if _sdk_missing() else 0
    tests = sum(len(re.findall(r"^(?:async )?def test_", c, re.M)) for c in files.values())
    result.assert_outcomes(passed=tests - sdk, skipped=sdk)


def _sdk_missing() -> bool:
    try:
        import iletimerkezi  # noqa: F401
    except ImportError:
        return True
    return False


def test_a_marker_with_an_unknown_option_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ileti(balanse=5)
        def test_typo(ileti):
            pass
        """
    )
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown option(s) balanse*"])


def test_the_plugin_imports_only_pytest() -> None:
    """A suite that never asks for the fixtures does not import the server."""
    script = (
        "import sys, ileti.testing.plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('ileti')))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "['ileti', 'ileti.testing', 'ileti.testing.plugin']"
