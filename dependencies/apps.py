from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"
    verbose_name = "Plugin dependencies"

    def ready(self):
        from dependencies import admin as dependencies_admin
        from plexica.plugins import admin_extensions as plugin_admin

        plugin_admin.register_plugin_panel("declared_dependencies", dependencies_admin.declared_dependencies,
                                           order=100)
        plugin_admin.register_plugin_readonly_fields(dependencies_admin.lifecycle_readonly_fields)
        for order, action in enumerate(dependencies_admin.LIFECYCLE_ACTIONS, start=100):
            plugin_admin.register_plugin_action(action, order=order)
