"""Connector instances as a shareable resource type (grants name them by their cin_ id)."""

from plexica.access import registry

CONNECTOR_INSTANCE = "connector_instance"


def register():
    registry.register(registry.ShareableType(
        key=CONNECTOR_INSTANCE, noun="connector instance", model="connectors.ConnectorInstance",
        id_help="cin_... for a connector instance", admin_url_name="connectors_connectorinstance_change",
    ))
