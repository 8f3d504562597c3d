"""The app's models live with their concept (config_objects, catalog, delivery); importing those modules here
registers them with Django under the `marketplaces` app label."""

from marketplaces.catalog import models as catalog  # noqa: F401
from marketplaces.config_objects import models as config_objects  # noqa: F401
from marketplaces.delivery import models as delivery  # noqa: F401
