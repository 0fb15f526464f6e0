"""All SQL lives in this package: the schema, migrations, and store functions."""

from ileti.store.database import Store
from ileti.store.errors import AccountNotFound, KeyInUse, StoreError, StoreUnavailable

__all__ = ["AccountNotFound", "KeyInUse", "Store", "StoreError", "StoreUnavailable"]
