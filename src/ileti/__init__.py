"""ileti: a self-hostable server that speaks the iletiMerkezi SMS API v1."""

__version__ = "0.1.0"
