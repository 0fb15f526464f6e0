"""The panel's words in Turkish (the default) and English.

Every string a page shows comes from a catalogue: one module per page group in
``texts/`` (``TEXTS = {"key": ("Türkçe", "English"), ...}``), merged here. A key may be
defined once; both languages are required (tests/test_panel_texts.py checks that every
key a template or page names exists). Values are ``str.format`` templates.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Literal

from ileti.api.panel import texts

Lang = Literal["tr", "en"]
LANGUAGES: tuple[Lang, ...] = ("tr", "en")
DEFAULT: Lang = "tr"


def _load() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(texts.__path__):
        module = importlib.import_module(f"{texts.__name__}.{info.name}")
        for key, pair in module.TEXTS.items():
            if key in merged:
                raise RuntimeError(f"panel text {key!r} is defined twice ({info.name})")
            merged[key] = pair
    return merged


CATALOGUE = _load()


def language(raw: str | None) -> Lang:
    return "en" if raw == "en" else DEFAULT


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``; an unknown key raises KeyError (a bug)."""
    index = LANGUAGES.index(lang)

    def t(key: str, **values: object) -> str:
        text = CATALOGUE[key][index]
        return text.format(**values) if values else text

    return t
