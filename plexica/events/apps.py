from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "plexica.events"
    label = "events"
    verbose_name = "Events"

    def ready(self):
        from plexica.events import consumers, stream, tools

        consumers.listen(stream.publish)  # the live stream's publisher, after every commit that emitted
        tools.register()
