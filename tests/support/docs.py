"""The examples of the documentation, read from the Markdown itself, so that what the
docs show is what the tests run."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FILE = re.compile(r"<!-- file: (\S+) -->\s*```python\n(.*?)```", re.S)
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def example_files(name: str) -> dict[str, str]:
    """``<!-- file: NAME -->`` followed by a python block: {NAME: its code}."""
    return {m.group(1): m.group(2) for m in _FILE.finditer((DOCS / name).read_text())}


def python_blocks(name: str) -> list[str]:
    """Every python block of a page, in order."""
    return [m.group(1) for m in _BLOCK.finditer((DOCS / name).read_text())]
