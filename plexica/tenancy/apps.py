from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "plexica.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self):
        from plexica.tenancy import signals  # noqa: F401  (cache invalidation)
        from plexica.tenancy import events, member_panels

        member_panels.register()
        events.register()
        from plexica.tenancy import dashboard

        dashboard.register()
