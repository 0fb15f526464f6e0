from __future__ import annotations

from enum import Enum


class Format(Enum):
    JSON = "json"
    XML = "xml"

    @property
    def content_type(self) -> bytes:
        if self is Format.JSON:
            return b"application/json; charset=utf-8"
        return b"text/xml; charset=utf-8"
