"""The web panel under ``/panel/``: server-rendered pages (Jinja2) over the same
services as the API, CLI and control API. ``base.py`` is what every page shares (the
session, CSRF, rendering, error pages); one module per page group; ``texts/`` holds the
words in Turkish and English; ``templates/`` and ``static/`` what is served (no build
step, nothing from another host)."""
