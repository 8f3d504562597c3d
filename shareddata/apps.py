from django.apps import AppConfig


class ShareddataConfig(AppConfig):
    name = "shareddata"
    verbose_name = "Shared data"

    def ready(self):
        from shareddata import tools

        tools.register()
