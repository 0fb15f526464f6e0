"""HTTP: the v1 route, its action table and handlers, health, the ASGI app."""
