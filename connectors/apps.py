from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors"

    def ready(self):
        from connectors import events, sharing
        from connectors.github import webhook  # noqa: F401  registers the GitHub provider with webhooks

        sharing.register()
        events.register()
        from connectors.integrations.tools import integration_tools
        from plexica import tools

        tools.register_provider(integration_tools)  # the MCP tools of the integration methods
        from connectors import dashboard

        dashboard.register()
        from connectors import admin as connectors_admin
        from marketplaces.config_objects.admin_extensions import register_config_object_panel

        register_config_object_panel("source", "Source", connectors_admin.config_object_source, order=10)
