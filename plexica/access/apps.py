from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "plexica.access"
    label = "access"
    verbose_name = "Access"

    def ready(self):
        from plexica.access import events

        events.register()
