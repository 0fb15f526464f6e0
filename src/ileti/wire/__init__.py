"""The v1 envelope in both encodings: decode request bodies into typed structs and
render results and errors as ``{"response":{"status":...}}`` with HTTP status = code.
Knows nothing of storage."""

from ileti.wire.decode import decode
from ileti.wire.encode import render_error, render_ok
from ileti.wire.formats import Format

__all__ = ["Format", "decode", "render_error", "render_ok"]
