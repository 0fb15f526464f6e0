"""The web panel's pages with 1,000,000 blacklist entries and 1,000,000 outbox messages
in the account, and how soon a message stored through another instance reaches an open
live outbox.

    .venv/bin/python bench/panel.py [--database URL] [--entries 1000000]
        [--messages 1000000] [--requests 20] [--rounds 20]

In a fresh database (a new SQLite file, or a new schema on the PostgreSQL server of
``--database``) one account gets ``--entries`` blacklist entries (200 blocked-at times an
hour apart, bench/get_blacklist.py's seeding) and ``--messages`` messages in orders of
50,000 (bench/outbox.py's: 100,000 recipients with about 9 messages each, and one busy
number with every tenth message), both through the store's own bulk inserts. A panel
user of that account is created (``ileti user create``), the real server is started
(``ileti serve``, one worker) and the user logs in through the login form.

Each page is then requested ``--requests`` times (after 2 warm-ups) over one keep-alive
connection, timed from sending to the last byte of the body (loopback: the server's
time plus well under a millisecond), and each answer checked (200, an HTML page; a
search shows the number it searched for). Pages deeper in a list are reached as a user
reaches them: by following the page's ``rel="next"`` links. A page the router does not
know (a plain 404: not built on this branch) is reported as "not built".

Live outbox: a second server (B) on the same database; an open
``/panel/outbox/events`` stream on the first (A); ``--rounds`` times, a send-sms through
B (a new number each time) and the time from B's 200 to A's ``event: message``.

Targets: every page <= 100 ms; a message stored by any instance appears in an open live
outbox within 1 s.
"""

from __future__ import annotations

import argparse
import html
import json
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import harness
import httpx

PAGE_TARGET_MS = 100.0
LIVE_TARGET_MS = 1000.0
WARMUP = 2
HOUR = 3_600_000_000
#: How many ``rel="next"`` links a "deep" page is behind the first.
DEEP = 25
NEXT_LINK = re.compile(r"<a\b[^>]*\brel=\"next\"[^>]*>")
HREF = re.compile(r"\bhref=\"([^\"]+)\"")


@dataclass
class Result:
    label: str
    path: str | None
    status: str  # "200", "not built", "HTTP 422", ...
    times: list[float]


class Panel:
    """One logged-in keep-alive client."""

    def __init__(self, base: str, email: str, password: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=60)
        form = self.client.get("/panel/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        if token is None:
            raise SystemExit(f"no login form at {base}/panel/login: HTTP {form.status_code}")
        answer = self.client.post(
            "/panel/login",
            data={"csrf": token.group(1), "email": email, "password": password},
            headers={"Origin": base},
        )
        if answer.status_code != 303:
            raise SystemExit(f"login refused: HTTP {answer.status_code}")

    def get(self, path: str) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        answer = self.client.get(path)
        return (time.perf_counter() - started) * 1000, answer

    def follow(self, path: str, times: int) -> str | None:
        """The path ``times`` ``rel="next"`` links after ``path`` (None: fewer links)."""
        for _ in range(times):
            _, answer = self.get(path)
            if not_built(answer):
                return path  # measure() reports it
            tag = NEXT_LINK.search(answer.text) if answer.status_code == 200 else None
            href = HREF.search(tag.group(0)) if tag else None
            if href is None:
                return None
            path = html.unescape(href.group(1))
        return path

    def close(self) -> None:
        self.client.close()


def not_built(answer: httpx.Response) -> bool:
    return answer.status_code == 404 and not answer.headers.get("content-type", "").startswith(
        "text/html"
    )


def measure(
    panel: Panel,
    label: str,
    path: str | None,
    requests: int,
    must_show: str | None = None,
) -> Result:
    if path is None:
        return Result(label, None, "fewer next links than that", [])
    _, answer = panel.get(path)
    if not_built(answer):
        return Result(label, path, "not built", [])
    if answer.status_code != 200:
        return Result(label, path, f"HTTP {answer.status_code}", [])
    if must_show is not None and must_show not in answer.text:
        raise SystemExit(f"{label}: {path} does not show {must_show!r}")
    for _ in range(WARMUP - 1):
        panel.get(path)
    times = []
    for _ in range(requests):
        elapsed, answer = panel.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{label}: {path} answered HTTP {answer.status_code}")
        times.append(elapsed)
    return Result(label, path, "200", times)


def ids(database_url: str, account_id: int) -> dict[str, int]:
    """The account's newest order and message, read directly (the bench seeded them)."""
    import sqlalchemy as sa

    from ileti.store.engine import normalize_url

    engine = sa.create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            order = conn.execute(
                sa.text("SELECT max(id) FROM orders WHERE account_id = :a"), {"a": account_id}
            ).scalar_one()
            message = conn.execute(
                sa.text("SELECT max(id) FROM messages WHERE order_id = :o"), {"o": order}
            ).scalar_one()
    finally:
        engine.dispose()
    return {"order": int(order), "message": int(message)}


def pages(panel: Panel, args: argparse.Namespace, seeded: dict[str, Any]) -> list[Result]:
    """Every page, with the searches and filters a user makes."""
    from ileti.clock import format_local

    requests = args.requests
    listed = seeded["listed"]  # a blacklisted number, national form 05XX...
    day = format_local(seeded["first_blocked"] + 100 * HOUR)[:10]  # Y-m-d, mid-range
    today = format_local(int(time.time() * 1_000_000))[:10]
    ordinary = "0" + seeded["recipient"][3:]
    order, message = seeded["order"], seeded["message"]
    cases: list[tuple[str, Callable[[], str | None], str | None]] = [
        ("dashboard", lambda: "/panel/", None),
        ("access permissions", lambda: "/panel/settings/security/access", None),
        ("API keys", lambda: "/panel/settings/keys", None),
        ("sending settings", lambda: "/panel/settings/sending", None),
        ("blacklist, first page", lambda: "/panel/blacklist", None),
        (
            f"blacklist, {DEEP} pages deep (next links)",
            lambda: panel.follow("/panel/blacklist", DEEP),
            None,
        ),
        ("blacklist, search a listed number", lambda: f"/panel/blacklist?q={listed}", listed[1:]),
        ("blacklist, search an unlisted one", lambda: "/panel/blacklist?q=05559990000", None),
        ("blacklist, one day (date filter)", lambda: f"/panel/blacklist?from={day}&to={day}", None),
        (
            f"blacklist, one day, {DEEP // 5} pages deep",
            lambda: panel.follow(f"/panel/blacklist?from={day}&to={day}", DEEP // 5),
            None,
        ),
        ("orders, first page", lambda: "/panel/orders", None),
        (
            "orders, today, sender ILETI",
            lambda: f"/panel/orders?start={today}&end={today}&sender=ILETI",
            None,
        ),
        ("order report (50,000 recipients)", lambda: f"/panel/orders/{order}", None),
        (
            f"order report, {DEEP} pages deep",
            lambda: panel.follow(f"/panel/orders/{order}", DEEP),
            None,
        ),
        ("outbox, first page", lambda: "/panel/outbox", None),
        (f"outbox, {DEEP} pages deep", lambda: panel.follow("/panel/outbox", DEEP), None),
        ("outbox, search a recipient", lambda: f"/panel/outbox?recipient={ordinary}", None),
        (
            "outbox, the busy recipient (1 in 10)",
            lambda: "/panel/outbox?recipient=%2B905559998877",
            None,
        ),
        ("outbox, search by sender", lambda: "/panel/outbox?sender=ILETI", None),
        ("outbox, search by text", lambda: "/panel/outbox?text=kodunuz%3A%20000123", None),
        ("outbox, a message's parts", lambda: f"/panel/outbox/{message}", None),
    ]
    results = []
    for label, path, must_show in cases:
        result = measure(panel, label, path(), requests, must_show)
        results.append(result)
        print(line(result), flush=True)
    return results


def line(result: Result) -> str:
    if not result.times:
        return f"  {result.label:42} {result.status}"
    median = harness.median(result.times)
    p95 = harness.percentile(result.times, 0.95)
    flag = "" if p95 <= PAGE_TARGET_MS else "  > target"
    return f"  {result.label:42} median {median:7.2f} ms  p95 {p95:7.2f} ms{flag}"


def send(port: int, account: dict[str, str], number: str, text: str) -> float:
    """send-sms through a server; when its 200's last byte came."""
    body = {
        "request": {
            "authentication": {"key": account["key"], "hash": account["hash"]},
            "order": {
                "sender": "ILETI",
                "sendDateTime": "",
                "iys": "0",
                "message": {"text": text, "receipents": {"number": [number]}},
            },
        }
    }
    answer = httpx.post(f"http://127.0.0.1:{port}/v1/send-sms/json", json=body, timeout=60)
    done = time.perf_counter()
    if answer.status_code != 200:
        raise SystemExit(f"send-sms: HTTP {answer.status_code} {answer.text[:200]}")
    return done


def live(
    port_a: int, port_b: int, account: dict[str, str], user: tuple[str, str], rounds: int
) -> list[float] | str:
    """Milliseconds from B's 200 to A's event, per round; or why not measured."""
    panel = Panel(f"http://127.0.0.1:{port_a}", *user)
    events: queue.Queue[tuple[float, str]] = queue.Queue()
    numbers = ["+90" + n for n in harness.mobile_numbers(rounds + 1, seed=23)]
    try:
        headers = {"Accept": "text/event-stream"}
        with panel.client.stream("GET", "/panel/outbox/events", headers=headers) as stream:
            if not_built(stream):
                return "not built"
            if stream.status_code != 200:
                return f"HTTP {stream.status_code}"

            def read() -> None:
                try:
                    for text in stream.iter_lines():
                        events.put((time.perf_counter(), text))
                except httpx.HTTPError:
                    pass
                events.put((time.perf_counter(), "<closed>"))

            threading.Thread(target=read, daemon=True).start()
            latencies = []
            for n in range(rounds + 1):
                time.sleep(0.2)
                while not events.empty():
                    events.get_nowait()
                sent = send(
                    port_b, account, numbers[n], f"Canlı kutu {n:04d} {secrets.token_hex(3)}"
                )
                deadline = time.perf_counter() + 10
                while True:
                    try:
                        at, text = events.get(timeout=max(0.0, deadline - time.perf_counter()))
                    except queue.Empty:
                        return f"round {n}: no event within 10 s"
                    if text == "<closed>":
                        return f"round {n}: the stream closed"
                    if text == "event: message":
                        break
                if n > 0:  # the first round warms up both servers
                    latencies.append((at - sent) * 1000)
            return latencies
    finally:
        panel.close()


def main() -> None:
    import get_blacklist
    import outbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="blacklist entries")
    parser.add_argument("--messages", type=int, default=1_000_000, help="outbox messages")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--rounds", type=int, default=20, help="live outbox rounds")
    args = parser.parse_args()

    with harness.database(args.database) as url:
        backend = harness.backend(url)
        account = json.loads(
            harness.ileti_cli(
                url, "account", "create", "bench", "--sender", "ILETI",
                "--balance", str(args.rounds + 100), "--json",
            ).stdout
        )  # fmt: skip
        account_id = int(account["id"])
        email, password = "bench@example.com", "bench-" + secrets.token_hex(8)
        harness.ileti_cli(
            url, "user", "create", email, "--account", account["key"], "--password-stdin",
            input=password + "\n",
        )  # fmt: skip
        started = time.perf_counter()
        first = get_blacklist.populate(url, account_id, args.entries)
        print(f"blacklist: {args.entries:,} entries in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        recipients = outbox.populate(url, account_id, args.messages)
        print(f"outbox: {args.messages:,} messages in {time.perf_counter() - started:.1f} s")
        # A listed number (get_blacklist.populate's), written nationally: 05XX...
        listed = "0" + harness.mobile_numbers(args.entries, seed=2)[args.entries // 2]
        seeded = {
            "first_blocked": first,
            "listed": listed,
            "recipient": recipients[0],
            **ids(url, account_id),
        }
        port_a, port_b = harness.free_port(), harness.free_port()
        with harness.ileti_serve(port_a, url):
            panel = Panel(f"http://127.0.0.1:{port_a}", email, password)
            print(f"\npanel pages ({backend}), {args.requests} requests each, send to last byte")
            results = pages(panel, args, seeded)
            panel.close()
            with harness.ileti_serve(port_b, url):
                found = live(port_a, port_b, account, (email, password), args.rounds)

    timed = [r for r in results if r.times]
    print(
        f"\npanel ({backend}, {args.entries:,} blacklist entries, {args.messages:,} messages, "
        "`ileti serve`, one worker)"
    )
    print(f"  machine                     : {harness.machine()}")
    print(f"  {'page':42} {'median':>9} {'p95':>9}  target {PAGE_TARGET_MS:.0f} ms")
    for result in results:
        if result.times:
            p95 = harness.percentile(result.times, 0.95)
            verdict = "meets" if p95 <= PAGE_TARGET_MS else "MISSES"
            print(
                f"  {result.label:42} {harness.median(result.times):7.2f}ms {p95:7.2f}ms  {verdict}"
            )
        else:
            print(f"  {result.label:42} {result.status}")
    if timed:
        worst = max(timed, key=lambda r: harness.percentile(r.times, 0.95))
        p95 = harness.percentile(worst.times, 0.95)
        verdict = "meets" if p95 <= PAGE_TARGET_MS else "MISSES"
        print(f"  worst p95: {p95:.2f} ms ({worst.label}): {verdict} the 100 ms target")
    if isinstance(found, str):
        print(f"  live outbox (send on B, event on A): {found}")
    else:
        p95 = harness.percentile(found, 0.95)
        verdict = "meets" if p95 <= LIVE_TARGET_MS else "MISSES"
        print(
            f"  live outbox, B's 200 -> A's event ({len(found)} rounds): median "
            f"{harness.median(found):.1f} ms, p95 {p95:.1f} ms, max {max(found):.1f} ms: "
            f"{verdict} the 1 s target"
        )


if __name__ == "__main__":
    main()
