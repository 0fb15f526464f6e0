"""The panel's catalogues, one module per page group (see ``ileti.api.panel.i18n``)."""
