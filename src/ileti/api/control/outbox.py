"""``/_ileti/outbox``: placeholder list filled by the outbox endpoints."""

from __future__ import annotations

from ileti.api.control.base import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = ()
