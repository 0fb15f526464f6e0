"""``ileti demo``: the demo account ``make run`` prints on every start.

The server keeps no plain hash, so the demo credentials live in a local, git-ignored
file (mode 600). The account is created on the first start, and again if the file's
key is no longer in the database.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import click

from ileti.cli.common import database_option, fail, file_error, open_store, run
from ileti.store import AccountNotFound


def _save(path: Path, data: dict[str, str]) -> None:
    # Created readable by the owner only, before a byte of the secret is written.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")


@click.command()
@click.option(
    "--file",
    "path",
    default=".ileti-demo.json",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Where the server will listen (for the curl line).",
)
@database_option
def demo(path: Path, url: str) -> None:
    """Create the demo account once; print its key, hash and a curl line."""
    saved = None
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = None

    async def work(accounts, _bl):  # type: ignore[no-untyped-def]
        if saved and saved.get("key"):
            try:
                await accounts.get(saved["key"])
                return saved, False
            except AccountNotFound:
                pass
        issued = await accounts.create("demo", senders=("ILETI", "APITEST"), balance=1000)
        data = {"key": issued.account.key, "secret": issued.secret, "hash": issued.hash}
        return data, True

    if not path.parent.is_dir():
        # Checked first: credentials that cannot be saved would be lost.
        fail(f"cannot write {path}: directory {path.parent} does not exist", 1)
    with open_store() as store:
        data, created = run(store, work)
    if created:
        try:
            _save(path, data)
        except OSError as exc:
            file_error("write", path, exc)
    body = json.dumps(
        {
            "request": {
                "authentication": {"key": data["key"], "hash": data["hash"]},
                "blacklist": {"number": "+905330000099"},
            }
        },
        separators=(",", ":"),
    )
    click.echo("")
    click.echo(f"Demo account {'created' if created else 'ready'} (credentials in {path}):")
    click.echo(f"  key:  {data['key']}")
    click.echo(f"  hash: {data['hash']}")
    click.echo("Add a number to its blacklist:")
    click.echo(f"  curl -s {url}/v1/add-blacklist/json -d {shlex.quote(body)}")
    click.echo("")
