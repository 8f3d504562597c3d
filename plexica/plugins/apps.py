from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "plexica.plugins"
    label = "plugins"
    verbose_name = "Plugins"

    def ready(self):
        from plexica.plugins import sharing

        sharing.register()
