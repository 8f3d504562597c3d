"""The event types outbound webhooks emit, registered from WebhooksConfig.ready()."""

from plexica.events import types

TEST = "webhook.test"
ENDPOINT_DISABLED = "webhook.endpoint.disabled"
SUBJECT_TYPE = "webhook_endpoint"


def register():
    types.register(TEST, "A test event sent to one webhook endpoint on request (delivered only to it).",
                   SUBJECT_TYPE)
    types.register(ENDPOINT_DISABLED,
                   "A webhook endpoint was disabled: by a person, after a 410 Gone, or failing for too long.",
                   SUBJECT_TYPE)
