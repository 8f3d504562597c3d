from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Service registry"

    def ready(self):
        from registry import dashboard

        dashboard.register()
