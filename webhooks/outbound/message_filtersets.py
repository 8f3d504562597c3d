"""Filters of an endpoint's message list: strict, so a bad value is a 400 naming the parameter."""

from plexica.api.query import ChoiceFilter, StrictFilterSet
from plexica.events import patterns
from plexica.events.filtersets import DateTimeFilter, TypeFilter
from webhooks.outbound.models import WebhookMessage


class MessageFilterSet(StrictFilterSet):
    status = ChoiceFilter(choices=WebhookMessage.Status.choices, label="Only messages in this status.")
    eventType = TypeFilter(method="of_types", label=(
        "Only messages of these event types: filters in which `*` matches anything (`config_object.*`), "
        "comma-separated or repeated."))
    since = DateTimeFilter(field_name="created_at", lookup_expr="gte",
                           label="Only messages created at or after this ISO 8601 date-time.")

    class Meta:
        model = WebhookMessage
        fields = []

    def of_types(self, queryset, name, value):
        if not value or "*" in value:
            return queryset
        condition = patterns.type_q(value[0], "event_type")
        for pattern in value[1:]:
            condition |= patterns.type_q(pattern, "event_type")
        return queryset.filter(condition)
