from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"
    verbose_name = "Plugin dependencies"
