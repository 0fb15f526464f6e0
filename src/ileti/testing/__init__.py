"""ileti as a test sandbox: the pytest plugin's pieces, usable without pytest too.

* ``ileti.testing.server.Sandbox``: ileti in this process (a thread with its own event
  loop) on a free port and a fresh SQLite database; in-process httpx transports.
* ``ileti.testing.handle.Ileti``: one ready account and helpers over the control API
  (outbox, blacklist, consents, faults, delivery, API access), reset between tests.
* ``ileti.testing.plugin``: the pytest plugin (``pytest11`` entry point ``ileti``):
  fixtures ``ileti_server`` (session) and ``ileti`` (per test), the ``ileti`` marker.

Importing this package imports nothing of the server; ``server`` does. docs/testing.md.
"""
