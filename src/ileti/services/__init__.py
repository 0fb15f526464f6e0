"""The rules: authentication, accounts, the blacklist. No HTTP objects, no SQL."""
