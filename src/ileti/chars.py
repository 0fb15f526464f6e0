"""Characters that cannot go everywhere a stored value goes, and what is shown instead.

XML 1.0 cannot carry the C0 control characters other than tab, line feed and carriage
return, nor U+FFFE, U+FFFF or a lone surrogate (no encoding can); PostgreSQL cannot
store NUL. Every such character is written as :data:`REPLACEMENT` (U+FFFD):

- :func:`storable`: what ileti stores of a value kept as written (an invalid
  recipient), so that it is stored alike on SQLite and PostgreSQL and comes back
  alike in JSON and XML;
- :func:`xml_text`: what the XML renderer writes for any text, whatever was stored
  (and a carriage return as ``&#13;``, which a parser would otherwise read as a line
  feed);
- :func:`encodable`: a text without lone surrogates, which UTF-8 cannot encode (what
  the JSON renderer falls back to, should one ever be met).
"""

from __future__ import annotations

import re

#: U+FFFD REPLACEMENT CHARACTER.
REPLACEMENT = "\ufffd"

_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_UNSTORABLE = re.compile(f"[{_NOT_XML}]")
_XML_SPECIAL = re.compile(f"[{_NOT_XML}\r]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry (NUL among them) replaced."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def _xml_special(match: re.Match[str]) -> str:
    return "&#13;" if match.group() == "\r" else REPLACEMENT


def xml_text(markup: str) -> str:
    """Escaped XML text (or a whole document of it) made well-formed: each character
    XML 1.0 cannot carry replaced, each carriage return a character reference."""
    if _XML_SPECIAL.search(markup) is None:
        return markup
    return _XML_SPECIAL.sub(_xml_special, markup)


def encodable(text: str) -> str:
    """``text`` with each lone surrogate replaced."""
    return _SURROGATE.sub(REPLACEMENT, text)
