from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Plugin gateway"

    def ready(self):
        from gateway import admin as gateway_admin
        from gateway import dashboard, events, tools
        from plexica.tools import register_provider

        dashboard.register()
        dashboard.contribute_to_plugin_admin()
        events.register()
        register_provider(tools.endpoint_tools)
        gateway_admin.contribute_to_plugin_admin()
