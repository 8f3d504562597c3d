from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors"

    def ready(self):
        from connectors import sharing
        from connectors.github import webhook  # noqa: F401  registers the GitHub provider with webhooks

        sharing.register()
        from connectors import dashboard

        dashboard.register()
