"""The ``ileti`` command: a thin shell over the services and the store."""
