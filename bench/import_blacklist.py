"""``ileti blacklist import`` of 1,000,000 numbers: wall time of the real CLI command.

    .venv/bin/python bench/import_blacklist.py [--database URL] [--count 1000000]
        [--rounds 1]

Writes a file of distinct valid Turkish mobiles in random order (the accepted written
forms in turn: 05XXXXXXXXX, +905XXXXXXXXX, 5XXXXXXXXX, 905XXXXXXXXX), then per round, on
a fresh database with a fresh account, times ``ileti --database URL blacklist import KEY
FILE`` as a subprocess from start to exit (start-up, migration check, reading and
validating the file, one transaction, and on PostgreSQL the VACUUM ANALYZE after it),
and its peak RSS. It then times importing the same file again into the same account
(every number already listed). Default database: a fresh SQLite file; PostgreSQL: a
fresh schema on the given server, dropped afterwards. Target: <= 20 s.

There is no HTTP here, so no baseline ratio: the figure is an absolute wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import harness

TARGET_SECONDS = 20.0  # issue: <= 20 s


def timed_import(database_url: str, key: str, path: Path) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the command, its peak RSS kB, its summary line) of one import."""
    command = [str(harness.VENV_BIN / "ileti"), "--database", database_url]
    command += ["blacklist", "import", key, str(path)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"import failed ({proc.returncode}): {err.read().strip()}")
        cpu = usage.ru_utime + usage.ru_stime
        return seconds, cpu, usage.ru_maxrss, out.read().strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="fresh-database imports")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ileti-bench-") as tmp:
        path = Path(tmp) / "numbers.txt"
        started = time.perf_counter()
        harness.write_number_file(path, args.count)
        print(
            f"wrote {args.count:,} numbers ({path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        fresh: list[float] = []
        again: list[float] = []
        for round_no in range(1, args.rounds + 1):
            with harness.database(args.database) as url:
                account = harness.create_account(url)
                seconds, cpu, peak, summary = timed_import(url, account["key"], path)
                added = re.search(r"(\d+) added", summary)
                if added is None or int(added.group(1)) != args.count:
                    raise SystemExit(f"unexpected import summary: {summary}")
                shown = json.loads(
                    harness.ileti_cli(url, "account", "show", account["key"], "--json").stdout
                )
                if shown["blacklist_count"] != args.count:
                    raise SystemExit(f"blacklist_count is {shown['blacklist_count']}")
                fresh.append(seconds)
                print(
                    f"round {round_no} fresh : {seconds:6.2f} s wall  {cpu:6.2f} s CPU (CLI)  "
                    f"peak RSS {peak / 1024:.0f} MB"
                )
                print(f"               {summary}", flush=True)
                seconds, cpu, peak, summary = timed_import(url, account["key"], path)
                again.append(seconds)
                print(
                    f"round {round_no} again : {seconds:6.2f} s wall  {cpu:6.2f} s CPU (CLI)  "
                    f"peak RSS {peak / 1024:.0f} MB"
                )
                print(f"               {summary}", flush=True)
                backend = harness.backend(url)

    best = harness.median(fresh)
    verdict = "meets" if best <= TARGET_SECONDS else "MISSES"
    print(f"\nblacklist import ({backend}, {args.count:,} numbers, the real CLI command)")
    print(f"  machine       : {harness.machine()}")
    print(f"  fresh account : median {best:6.2f} s wall  ({verdict} the 20 s target)")
    print(f"  all listed    : median {harness.median(again):6.2f} s wall")
    print(f"  rate          : {args.count / best:,.0f} numbers/s")


if __name__ == "__main__":
    main()
