from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "plexica.api"
    label = "plexica_api"
    verbose_name = "API"

    def ready(self):
        from plexica import checks  # noqa: F401  (registers the start-up checks)
        from plexica.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
