"""A small disk of its own: a tmpfs mounted for one test, which fills up for real
(``ENOSPC``) and is given room again by resizing it. Needs the right to mount (root with
``CAP_SYS_ADMIN``); ``small_disk`` skips the test where that is missing."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path

    def resize(self, kib: int) -> None:
        """Grow (or shrink) the disk to ``kib`` KiB, files kept."""
        _mount("-o", f"remount,size={kib}k", str(self.path))

    def free_kib(self) -> int:
        found = subprocess.run(
            ["df", "-k", "--output=avail", str(self.path)], capture_output=True, text=True
        )
        return int(found.stdout.split()[-1])


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=True)


@contextlib.contextmanager
def small_disk(path: Path, kib: int) -> Iterator[SmallDisk]:
    """A tmpfs of ``kib`` KiB mounted at ``path`` for the duration."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={kib}k,mode=0700", "tmpfs", str(path))
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        pytest.skip(f"cannot mount a tmpfs here: {detail}")
    try:
        yield SmallDisk(path)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
