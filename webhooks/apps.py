from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # One line per contribution to the platform's registries.
        from webhooks.outbound import events, fanout

        events.register()
        fanout.register()  # the event log's `webhooks` consumer: messages for the endpoints
