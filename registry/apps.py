from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Service registry"

    def ready(self):
        from registry import dashboard, events, metrics, tools

        dashboard.register()
        events.register()
        metrics.register()
        tools.register()
        from registry import admin as registry_admin

        registry_admin.contribute_to_plugin_admin()
