"""``GET /api/manifest.json``: ileti's endpoints in the shape of the provider's own
manifest (``https://www.iletimerkezi.com/api/manifest.json``), the document the
provider's MCP server builds its tools from. That server keeps the endpoints with
``mcp_tool`` and ``input_schema`` and POSTs ``{"request": {"authentication": {key,
hash}, ...tool input}}`` to ``endpoint.base_url + endpoint.path``; here ``base_url`` is
the address the manifest was asked for (``<scheme>://<host>``, ``path`` starting
``/v1/``), so with ``ILETIMERKEZI_MANIFEST_URL=http://HOST:PORT/api/manifest.json`` the
unchanged MCP server runs against this ileti.

Generated from the action table (``ileti.api.actions``: names, codes, summaries) and
the request structs (``ileti.wire``), like ``/openapi.json``: an action added to the
table appears here, with a tool when it has one of the provider's tool names."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import msgspec

from ileti import __version__
from ileti.api.actions import ACTIONS, Action

#: The provider's MCP tool names, by action (its README's table).
TOOLS = {
    "send-sms": "send_sms",
    "cancel-order": "cancel_order",
    "get-report": "get_report",
    "get-reports": "get_reports",
    "get-balance": "get_balance",
    "get-sender": "get_sender",
    "get-blacklist": "get_blacklist",
    "add-blacklist": "add_blacklist",
    "delete-blacklist": "delete_blacklist",
    "consent/create": "iys_register",
    "consent/show": "iys_check",
}

#: Turkish summaries, by action (the English ones are the action table's).
SUMMARY_TR = {
    "add-blacklist": "Numarayı hesabın kara listesine ekler (tekrar eklemek de başarılıdır).",
    "delete-blacklist": "Numarayı kara listeden çıkarır.",
    "get-blacklist": "Kara listedeki numaraların bir sayfası.",
    "get-balance": "Hesabın bakiyesi: TL ve kontör.",
    "get-sender": "Hesabın onaylı başlıkları.",
    "send-sms": "Bir veya daha çok metni en çok 50.000 alıcıya gönderir (tek sipariş).",
    "get-report": "Bir sipariş ve mesajlarının bir sayfası.",
    "get-reports": "En çok 10 günlük aralıktaki siparişler, sayfada 30.",
    "get-report-summary": "get-reports, Go SDK'nın kullandığı adla.",
    "cancel-order": "İleri tarihli bir siparişi iptal eder (ücreti iade edilir).",
    "consent/create": "İYS izin kayıtlarını yükler (1-5.000 kayıt).",
    "consent/show": "Bir alıcının en son İYS izin kaydı.",
}

#: What each success carries beside ``status`` (the provider's response_success_shape).
_SHAPES = {
    "get-blacklist": "response.{status, blacklist:{count, number[]}}",
    "get-balance": "response.{status, balance:{amount, sms}}",
    "get-sender": "response.{status, senders:{sender[]}}",
    "send-sms": "response.{status, order:{id}}",
    "get-report": "response.{status, order:{id, status, total, delivered, undelivered, "
    "waiting, submitAt, sendAt, sender, price, message[]:{number, status}}}",
    "get-reports": "response.{status, count, orders[]}",
    "get-report-summary": "response.{status, count, orders[]}",
    "consent/show": "response.{status, consent:{brandCode, recipient, recipientType, type, "
    "status, source, consentDate}}",
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A schema with every ``$ref`` to ``#/$defs/...`` replaced by its definition (the
    request structs are not recursive), for tools whose input a model reads."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def input_schema(action: Action) -> dict[str, Any]:
    """The tool's input: the action's request members beside ``authentication`` (which
    the MCP server adds from its own settings)."""
    schema = msgspec.json.schema(action.request_type)
    defs = schema.pop("$defs", {})
    body = _inline(schema, defs)
    properties = {k: v for k, v in body.get("properties", {}).items() if k != "authentication"}
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in body.get("required", ()) if k != "authentication"],
        "additionalProperties": False,
    }


def _endpoint(action: Action, today: str) -> dict[str, Any]:
    path = f"/v1/{action.name}/json"
    schema = input_schema(action)
    members = ", ".join(schema["properties"])
    endpoint: dict[str, Any] = {
        "slug": action.name.replace("/", "-"),
        "method": "POST",
        "path": path,
        "auth": "api-key-and-hash",
        "request_shape": f"request.{{authentication{', ' if members else ''}{members}}}",
        "response_success_shape": _SHAPES.get(action.name, "response.{status}"),
        "error_codes": sorted(int(code) for code in action.codes),
        "notes": "ileti: the iletiMerkezi SMS API v1, self-hosted. The HTTP status "
        "equals response.status.code.",
        "summary": {"tr": SUMMARY_TR.get(action.name, action.summary), "en": action.summary},
        "title": {"tr": action.name, "en": action.name},
        "description": {"tr": SUMMARY_TR.get(action.name, action.summary), "en": action.summary},
        "last_updated": today,
    }
    tool = TOOLS.get(action.name)
    if tool is not None:
        endpoint["mcp_tool"] = tool
        endpoint["input_schema"] = schema
    return endpoint


class Manifest:
    """The document with everything but the address made once; ``for_base`` fills in
    ``base_url``, ``full_url`` and the links for one ``<scheme>://<host>``."""

    def __init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        today = now.date().isoformat()
        self.template: dict[str, Any] = {
            "schema_version": "1",
            "generated_at": now.isoformat().replace("+00:00", "Z"),
            "source": f"ileti {__version__}",
            "base_url": "",
            "authentication": {
                "type": "api-key-and-hash",
                "location": "request.authentication.{key,hash}",
                "panel_prerequisite": "the account's API access switch is on "
                "(PATCH /_ileti/accounts/{key} api_access)",
                "panel_url": "/panel/",
            },
            "endpoints": [_endpoint(a, today) for a in ACTIONS.values()],
            "webhook": {
                "method": "POST",
                "content_type": "application/json",
                "body_shape": "report.{id, packet_id, status: accepted|delivered|undelivered, "
                "to, body}",
            },
            "llm_resources": {},
        }
        self._cache: dict[str, bytes] = {}

    def document(self, base: str) -> dict[str, Any]:
        found = copy.deepcopy(self.template)
        found["base_url"] = base
        found["llm_resources"] = {"openapi": f"{base}/openapi.json"}
        for endpoint in found["endpoints"]:
            endpoint["base_url"] = base
            endpoint["full_url"] = base + endpoint["path"]
            doc = f"{base}/openapi.json#/paths/{endpoint['path'].replace('/', '~1')}"
            endpoint["doc_url"] = {"tr": doc, "en": doc}
            endpoint["md_url"] = {"tr": doc, "en": doc}
        return found

    def for_base(self, base: str) -> bytes:
        body = self._cache.get(base)
        if body is None:
            body = msgspec.json.encode(self.document(base))
            if len(self._cache) < 64:  # a few addresses at most; the bound is a guard
                self._cache[base] = body
        return body
