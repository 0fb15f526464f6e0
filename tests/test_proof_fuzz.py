"""``proof/fuzz.py --quick`` (the hostile-body generator's short run) against a live
``ileti serve`` on each database: every input answered by the contract, nothing
logged as a traceback, the server healthy, nothing stored by a refusal. A fixed seed,
so that CI sends the same inputs every run (``make proof`` draws a new one)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 9


def test_the_quick_hostile_run_finds_nothing(database_url: str) -> None:
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "proof" / "fuzz.py"), "--quick"),
            *("--seed", str(SEED), "--database", database_url),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = re.search(r"(\d+) inputs sent, statuses (.*), anomalies (\d+)", done.stdout)
    assert summary is not None, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0 and summary[3] == "0", done.stdout[-6000:]
    assert int(summary[1]) == 1500
    statuses = dict(pair.split(":") for pair in summary[2].split())
    # the run reached past parsing and authentication, and into the actions' own rules
    assert {"200", "400", "401", "404", "466", "455"} <= set(statuses)
