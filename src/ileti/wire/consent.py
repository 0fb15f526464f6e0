"""Request structs for İYS consent (spec §10): consent/create and consent/show, JSON
only (the provider publishes no XML form of them: ``/v1/consent/create`` is 404).

The envelope's shape is decoded as everywhere (``consent`` must be an object: 400
otherwise); the values inside it are taken as sent (``Any``) and judged by the consent
rules, so that a wrong type or an unknown value is the documented 422, not a 400."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ileti.wire.structs import Authentication

Value = Annotated[Any, Meta(description="Judged by the consent rules (422 when wrong)")]


class ConsentListIn(msgspec.Struct):
    brandCode: Annotated[
        Any, Meta(description="The account's İYS brand code: a string or an integer")
    ] = None
    list: Annotated[
        Any,
        Meta(
            description="1 to 5,000 records {recipient, recipientType (BIREYSEL | TACIR), "
            "type (MESAJ | ARAMA | EPOSTA), status (ONAY | RET), source (an HS_* source), "
            "consentDate (YYYY-MM-DD HH:MM:SS, Istanbul)}, stored whole or not at all"
        ),
    ] = None


class ConsentCreateRequest(msgspec.Struct):
    authentication: Authentication | None = None
    consent: ConsentListIn | None = None


class ConsentQueryIn(msgspec.Struct):
    brandCode: Annotated[Any, Meta(description="The account's İYS brand code")] = None
    recipient: Value = None
    recipientType: Annotated[Any, Meta(description="BIREYSEL | TACIR")] = None
    type: Annotated[Any, Meta(description="MESAJ | ARAMA | EPOSTA")] = None


class ConsentShowRequest(msgspec.Struct):
    authentication: Authentication | None = None
    consent: ConsentQueryIn | None = None
