"""Filters of the webhook endpoint list."""

from rest_framework.exceptions import ValidationError

from plexica.api.query import BooleanFilter, CharFilter, StrictFilterSet
from plexica.errors import Invalid
from webhooks.outbound import endpoints
from webhooks.outbound.models import WebhookEndpoint


class EndpointFilterSet(StrictFilterSet):
    enabled = BooleanFilter(label="Only enabled (true) or only disabled (false) endpoints")
    eventType = CharFilter(method="receiving", label="Only endpoints whose filters select this event type")
    pluginId = CharFilter(field_name="plugin__plugin_id", label="Only the endpoints of this plugin (plugin-...)")

    class Meta:
        model = WebhookEndpoint
        fields = []

    def receiving(self, queryset, name, value):
        try:
            return endpoints.matching_event_type(queryset, value)
        except Invalid as exc:
            raise ValidationError({name: [exc.message.removeprefix(f"{name}: ")]}) from None
