"""Sealing secrets at rest: the relay's upstream credentials (docs/relay.md).

A secret is sealed with Fernet (``cryptography``: AES-128-CBC and HMAC-SHA256, with a
timestamp) under a key derived from ``ILETI_SECRET_KEY``. That variable may hold several
secrets separated by commas: the first seals, every one opens, so an operator rotates
by putting the new secret first and running ``ileti relay reseal``. Nothing here
logs, prints or stores a secret in plain form; a token that no key opens raises
:class:`VaultError`, whose message names no secret.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

#: What the derivation is for (so the same ILETI_SECRET_KEY could key something else).
_CONTEXT = b"ileti upstream credentials v1\x00"


class VaultError(ValueError):
    """No key, or a sealed value that no key opens (one line, naming no secret)."""


def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(_CONTEXT + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class Vault:
    """Seals and opens short secrets with the keys of ``ILETI_SECRET_KEY``."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        if not secrets:
            raise VaultError("ILETI_SECRET_KEY is not set")
        self._keys = MultiFernet([_fernet(secret) for secret in secrets])

    def seal(self, value: str) -> str:
        return self._keys.encrypt(value.encode()).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._keys.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise VaultError(
                "ILETI_SECRET_KEY does not open the stored upstream credentials "
                "(was the key changed?)"
            ) from None

    def reseal(self, token: str) -> str:
        """The token sealed again under the first key (after a rotation)."""
        try:
            return self._keys.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise VaultError(
                "ILETI_SECRET_KEY does not open the stored upstream credentials"
            ) from None


def vault_of(secrets: tuple[str, ...]) -> Vault | None:
    """The vault of these keys, or None when there are none."""
    return Vault(secrets) if secrets else None
