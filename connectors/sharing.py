"""Connector instances and integration instances as shareable resource types (grants name them by their
cin_ and iins_ ids).

An integration instance's grant decides who of its members may execute its methods (editor or manager,
connectors/integrations/execution.py); reading instances needs none.
"""

from plexica.access import registry

CONNECTOR_INSTANCE = "connector_instance"
INTEGRATION_INSTANCE = "integration_instance"


def register():
    registry.register(registry.ShareableType(
        key=CONNECTOR_INSTANCE, noun="connector instance", model="connectors.ConnectorInstance",
        id_help="cin_... for a connector instance", admin_url_name="connectors_connectorinstance_change",
    ))
    registry.register(registry.ShareableType(
        key=INTEGRATION_INSTANCE, noun="integration instance", model="connectors.IntegrationInstance",
        id_help="iins_... for an integration instance", admin_url_name="connectors_integrationinstance_change",
    ))
