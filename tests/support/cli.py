"""Running the ``ileti`` command in process (click's runner), as a user would."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from click.testing import CliRunner, Result


def invoke(
    args: list[str], env: dict[str, str | None] | None = None, input: str | None = None
) -> Result:
    """``ileti ARGS...`` with ILETI_DATABASE_URL unset unless ``env`` sets it, and
    ``input`` on its standard input."""
    from ileti.cli.main import cli

    base: dict[str, str | None] = {"ILETI_DATABASE_URL": None}

    def run() -> Result:
        return CliRunner().invoke(
            cli,
            args,
            input=input,
            env=base | (env or {}),
            catch_exceptions=True,
            prog_name="ileti",
        )

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # The CLI runs an event loop of its own: from an async test, give it a thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def ileti(url: str, *args: str) -> Result:
    """``ileti --database URL ARGS...``."""
    return invoke(["--database", url, *args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


def run(url: str, *args: str) -> str:
    """``ileti --database URL ARGS...``, which must succeed; what it printed."""
    return ok(ileti(url, *args)).stdout


def create(url: str, *args: str) -> dict[str, Any]:
    """``ileti account create ARGS... --json``: the account as printed (with its secret
    and hash)."""
    data: dict[str, Any] = json.loads(run(url, "account", "create", *args, "--json"))
    return data


def credentials(data: dict[str, Any]) -> dict[str, str]:
    """The ``authentication`` element for an account printed by the CLI."""
    return {"key": data["key"], "hash": data["hash"]}


async def aileti(url: str, *args: str) -> Result:
    """The same from an async test (the CLI runs its own event loop)."""
    return await asyncio.to_thread(ileti, url, *args)


def failed(result: Result, message: str, code: int | None = None) -> None:
    """A non-zero exit with exactly one line on stderr and no traceback."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr, result.stderr
    assert result.stdout == ""
