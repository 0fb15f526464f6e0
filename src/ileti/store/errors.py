"""The store's own errors: callers never see a driver's exception.

StoreError
├── StoreUnavailable   the database could not be reached or answered with an error
└── AccountNotFound    no account with that key
"""

from __future__ import annotations


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    pass


class AccountNotFound(StoreError):
    pass
