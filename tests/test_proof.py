"""The proof of docs/reliability.md, short version: each script of ``proof/`` run with
``--quick`` on the test's database (SQLite and PostgreSQL), as ``make proof-quick``
runs it. A script exits non-zero on any anomaly: an acknowledged write lost, an answer
outside the contract (500, a hang), a balance that does not add up, a failed
``integrity_check``, a traceback logged. What each one injects: the script's docstring
and docs/reliability.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROOF = Path(__file__).resolve().parent.parent / "proof"
SCRIPTS = ("crash", "shutdown", "faults", "concurrency")


@pytest.mark.parametrize("script", SCRIPTS)
def test_proof_script_finds_nothing_lost(script: str, database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    if "ILETI_TEST_POSTGRES_URL" in os.environ:
        env["ILETI_TEST_POSTGRES_URL"] = os.environ["ILETI_TEST_POSTGRES_URL"]
    done = subprocess.run(
        [sys.executable, str(PROOF / f"{script}.py"), "--quick", "--database", database_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    summaries = [line for line in done.stdout.splitlines() if line.startswith(f"{script}: ")]
    assert summaries[-1].startswith(f"{script}: ok"), output
    assert "ANOMALY" not in output, output
    for line in summaries[:-1]:
        assert "lost" not in line or line.rstrip().endswith("lost 0"), output
