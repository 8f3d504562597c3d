"""The app's admin pages live with their concept (config_objects, catalog, delivery); admin autodiscovery
imports this module, and importing those modules here registers their pages."""

from marketplaces.catalog import admin as catalog  # noqa: F401
from marketplaces.config_objects import admin as config_objects  # noqa: F401
from marketplaces.delivery import admin as delivery  # noqa: F401
