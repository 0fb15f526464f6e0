"""The action table: one row per v1 action (spec §1.1). A new endpoint adds its
handler, one row here, and its tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ileti.api import account, blacklist
from ileti.wire.structs import AuthOnlyRequest, BlacklistQueryRequest, NumberRequest

Handler = Callable[..., Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Action:
    name: str
    request_type: type[Any]
    handler: Handler


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("add-blacklist", NumberRequest, blacklist.add),
        Action("delete-blacklist", NumberRequest, blacklist.delete),
        Action("get-blacklist", BlacklistQueryRequest, blacklist.get),
        Action("get-balance", AuthOnlyRequest, account.balance),
        Action("get-sender", AuthOnlyRequest, account.senders),
    )
}
