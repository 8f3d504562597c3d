from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "plexica.plugins"
    label = "plugins"
    verbose_name = "Plugins"

    def ready(self):
        from plexica.plugins import admin as plugins_admin
        from plexica.plugins import sharing
        from plexica.plugins.admin_extensions import register_plugin_panel

        sharing.register()
        register_plugin_panel("access_grants", plugins_admin.access_grants, order=200)
        from plexica.plugins import dashboard

        dashboard.register()
