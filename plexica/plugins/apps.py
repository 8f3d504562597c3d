from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "plexica.plugins"
    label = "plugins"
    verbose_name = "Plugins"

    def ready(self):
        from plexica.plugins import admin as plugins_admin
        from plexica.plugins import events, sharing

        sharing.register()
        events.register()
        plugins_admin.register_core_contributions()
        from plexica.plugins import dashboard

        dashboard.register()
