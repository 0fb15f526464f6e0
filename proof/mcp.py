"""The provider's MCP server, unchanged, against ileti: ``/api/manifest.json`` is the
manifest it builds its tools from, and every tool call lands on this ileti.

    ILETI_MCP_SERVER=/path/to/iletimerkezi-mcp-server/dist/index.js \\
        .venv/bin/python proof/mcp.py [--backend sqlite]

The MCP server is the provider's repository (github.com/iletimerkezi/iletimerkezi-mcp-server,
``npm ci && npx tsc``; it is not on the npm registry), run with ``node`` over stdio:
``ILETIMERKEZI_MANIFEST_URL`` points at ileti's manifest and ``ILETIMERKEZI_MCP_CACHE_DIR``
at a fresh directory (so no cached manifest of the real service is used). The script
speaks MCP (JSON-RPC 2.0, one message a line) to it: initialize, tools/list, then
tools/call of get_balance, get_sender, add_blacklist, get_blacklist, send_sms,
get_report, cancel_order, get_reports, delete_blacklist (a 474 for a number not
listed), and iys_register / iys_check when ileti serves consent/create and
consent/show; and checks with ``ileti.client`` that each call really changed ileti.
Without ILETI_MCP_SERVER it says so and exits 0 (``make proof`` runs every script).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import ISTANBUL, Proof, arguments, databases, start_server

from ileti.client import Client

ADMIN = "proof-mcp-admin-" + uuid.uuid4().hex


class Mcp:
    """The MCP server as a child process, spoken to over stdio."""

    def __init__(self, entry: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["node", entry],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
        )
        self.next_id = 0

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"the MCP server exited: {err[-2000:]}")
            message = json.loads(line)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def call(self, tool: str, arguments: dict[str, Any]) -> tuple[bool, str]:
        """(isError, the text the model would read)."""
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        return bool(result.get("isError")), "".join(c["text"] for c in result["content"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def payload(text: str) -> dict[str, Any]:
    """The JSON body the tool's text quotes (between ```json and ```)."""
    start = text.index("```json") + len("```json")
    return dict(json.loads(text[start : text.index("```", start)]))


def run(proof: Proof, server_url: str, entry: str) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    made = httpx.post(
        f"{server_url}/_ileti/accounts",
        headers=admin,
        json={"name": "mcp", "senders": ["ILETI"], "balance": 100, "brand_code": "696422",
              "test_number": "+905330000009"},
    )  # fmt: skip
    made.raise_for_status()
    key, hash_ = made.json()["account"]["key"], made.json()["hash"]
    sms = Client(key, hash_, base_url=f"{server_url}/v1/")
    cache = tempfile.mkdtemp(prefix="ileti-mcp-cache-")
    mcp = Mcp(
        entry,
        {
            "ILETIMERKEZI_MANIFEST_URL": f"{server_url}/api/manifest.json",
            "ILETIMERKEZI_MCP_CACHE_DIR": cache,
            "ILETIMERKEZI_FALLBACK_MANIFEST": "/nonexistent",
            "ILETIMERKEZI_API_KEY": key,
            "ILETIMERKEZI_API_HASH": hash_,
        },
    )
    try:
        init = mcp.request(
            "initialize",
            {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "ileti-proof", "version": "1"},
            },
        )
        mcp.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        said = init.get("instructions", "")
        proof.check("Manifest source: live" in said, f"the manifest was not read live: {said}")
        tools = {t["name"] for t in mcp.request("tools/list", {})["tools"]}
        proof.line(f"tools/list: {len(tools)} tools: {', '.join(sorted(tools))}")
        needed = {"send_sms", "get_report", "add_blacklist", "get_blacklist", "get_balance",
                  "get_sender", "cancel_order", "get_reports", "delete_blacklist"}  # fmt: skip
        proof.check(needed <= tools, f"tools missing: {sorted(needed - tools)}")

        def call(tool: str, arguments: dict[str, Any], *, fails: bool = False) -> dict[str, Any]:
            error, text = mcp.call(tool, arguments)
            body = payload(text)
            proof.check(error == fails, f"{tool}: isError {error}: {text[:400]}")
            code = body["response"]["status"]["code"]
            proof.line(f"tools/call {tool}: isError={error}, response.status.code {code}")
            return dict(body["response"])

        balance = call("get_balance", {})
        proof.check(balance["balance"]["sms"] == 100, f"get_balance: {balance}")
        senders = call("get_sender", {})
        proof.check(senders["senders"]["sender"] == ["ILETI"], f"get_sender: {senders}")

        call("add_blacklist", {"blacklist": {"number": "+905330000001"}})
        proof.check(list(sms.iter_blacklist()) == ["+905330000001"], "add_blacklist not stored")
        listed = call("get_blacklist", {"blacklist": {"page": 1, "rowCount": 10}})
        proof.check(listed["blacklist"] == {"count": 1, "number": ["+905330000001"]},
                    f"get_blacklist: {listed}")  # fmt: skip
        missing = call("delete_blacklist", {"blacklist": {"number": "+905330000002"}}, fails=True)
        proof.check(missing["status"]["code"] == 474, f"delete_blacklist: {missing}")

        to = {"number": ["+905330000003", "+905330000001"]}
        text = "MCP üzerinden merhaba"
        order = {"sender": "ILETI", "sendDateTime": "", "iys": "0",
                 "message": {"text": text, "receipents": to}}  # fmt: skip
        sent = call("send_sms", {"order": order})
        order_id = sent["order"]["id"]
        report = sms.get_report(order_id)
        proof.check(
            report.total == 2 and report.price == 1 and sms.get_balance().sms == 99,
            f"send_sms: order {order_id} is {report}",
        )
        got = call("get_report", {"order": {"id": order_id}})
        numbers = sorted(m["number"] for m in got["order"]["message"])
        proof.check(numbers == ["+905330000001", "+905330000003"], f"get_report: {got}")

        later = (datetime.now(ISTANBUL) + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
        tomorrow = {
            **order,
            "sendDateTime": later,
            "message": {**order["message"], "text": "Yarın"},
        }
        scheduled = call("send_sms", {"order": tomorrow})
        call("cancel_order", {"order": {"id": scheduled["order"]["id"]}})
        proof.check(sms.get_report(scheduled["order"]["id"]).status == 115, "cancel_order")
        today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")
        found = call("get_reports", {"filter": {"start": today, "end": today}})
        proof.check(found["count"] == 2, f"get_reports: {found}")

        if {"iys_register", "iys_check"} <= tools:
            now = datetime.now(ISTANBUL).strftime("%Y-%m-%d %H:%M:%S")
            record = {"recipient": "+905330000004", "recipientType": "BIREYSEL", "type": "MESAJ",
                      "status": "ONAY", "source": "HS_WEB", "consentDate": now}  # fmt: skip
            call("iys_register", {"consent": {"brandCode": "696422", "list": [record]}})
            shown = call("iys_check", {"consent": {"brandCode": "696422",
                         "recipient": "+905330000004", "recipientType": "BIREYSEL",
                         "type": "MESAJ"}})  # fmt: skip
            proof.check(shown["consent"]["status"] == "ONAY", f"iys_check: {shown}")
        else:
            proof.anomaly("iys_register / iys_check: ileti does not serve consent/* yet")
    finally:
        mcp.close()
        sms.close()


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    proof = Proof("mcp", args.seed)
    entry = os.environ.get("ILETI_MCP_SERVER", "")
    if not entry:
        print("mcp: skipped (set ILETI_MCP_SERVER to the MCP server's dist/index.js)")
        return 0
    if not Path(entry).is_file():
        raise SystemExit(f"ILETI_MCP_SERVER: no such file: {entry}")
    with databases(args, "mcp") as found:
        for db in found:
            logdir = Path(tempfile.mkdtemp(prefix="ileti-mcp-"))
            server = start_server(db, logdir, {"ILETI_ADMIN_TOKEN": ADMIN})
            try:
                proof.line(f"{db.backend}: ileti at {server.url}")
                run(proof, server.url, entry)
            finally:
                server.terminate()
    return proof.finish()


if __name__ == "__main__":
    sys.exit(main())
