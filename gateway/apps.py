from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Plugin gateway"

    def ready(self):
        from gateway import dashboard

        dashboard.register()
        dashboard.contribute_to_plugin_admin()
