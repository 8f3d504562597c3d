from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Service registry"

    def ready(self):
        from registry import dashboard, events, metrics

        dashboard.register()
        events.register()
        metrics.register()
        from registry import admin as registry_admin

        registry_admin.contribute_to_plugin_admin()
