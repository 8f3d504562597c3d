from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"
    verbose_name = "Plugin dependencies"

    def ready(self):
        from dependencies import admin as dependencies_admin
        from dependencies import events, tools

        dependencies_admin.contribute_to_plugin_admin()
        events.register()
        tools.register()
