"""Request and response bodies of /api/v1/webhooks (the organization's webhook endpoints)."""

from rest_framework import serializers

from plexica.api.serializers import StrictModelSerializer, StrictSerializer
from plexica.events.patterns import FILTER_PATTERN, MAX_TYPE_LENGTH, filter_error
from webhooks.outbound import endpoints, secrets
from webhooks.outbound.models import WebhookEndpoint


class EventFilterField(serializers.CharField):
    """One event type filter (`config_object.*`, `*`), checked by plexica.events.patterns with its words."""

    def __init__(self, **kwargs):
        self.schema_pattern = FILTER_PATTERN  # stated in the OpenAPI schema (plexica.api.serializers.TextSchema)
        super().__init__(trim_whitespace=False, max_length=MAX_TYPE_LENGTH, **kwargs)

    def run_validators(self, value):
        super().run_validators(value)
        problem = filter_error(value)
        if problem:
            raise serializers.ValidationError(problem)


def event_filters_field(**kwargs):
    return serializers.ListField(
        child=EventFilterField(), min_length=1, max_length=endpoints.MAX_FILTERS,
        help_text="Event type filters: a type (`config_object.created`) or a pattern in which `*` matches "
                  "anything (`config_object.*`, `*.created`); `*` alone selects every event. Duplicates are "
                  "dropped.",
        **kwargs,
    )


SECRET_HELP = (f"{secrets.RULE} Returned only in this response. Receivers verify the Standard Webhooks "
               "`webhook-signature` and `X-Plexica-Signature-256` headers with it.")
READ_ONLY_REASONS = {
    "secret": "Change the secret with POST /api/v1/webhooks/{endpoint_id}/rotate-secret (the old one stays "
              "valid for 24 hours).",
    "plugin": "An endpoint's plugin is the plugin whose key created it.",
}


class WebhookEndpointCreateSerializer(StrictSerializer):
    READ_ONLY = READ_ONLY_REASONS

    url = serializers.CharField(max_length=endpoints.MAX_URL_LENGTH, trim_whitespace=False,
                                help_text="Absolute http(s) URL; its host must resolve to public addresses "
                                          "(private ones only inside WEBHOOK_ALLOWED_NETWORKS).")
    events = event_filters_field()
    secret = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                   max_length=secrets.MAX_LENGTH,
                                   help_text=SECRET_HELP)
    description = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=endpoints.MAX_DESCRIPTION_LENGTH)
    enabled = serializers.BooleanField(required=False, default=True)
    ordered = serializers.BooleanField(required=False, default=False,
                                       help_text="Deliver strictly in event order, each message after the "
                                                 "previous one succeeded or exhausted its retries.")


class WebhookEndpointUpdateSerializer(StrictSerializer):
    READ_ONLY = READ_ONLY_REASONS

    url = serializers.CharField(required=False, max_length=endpoints.MAX_URL_LENGTH, trim_whitespace=False)
    events = event_filters_field(required=False)
    description = serializers.CharField(required=False, allow_blank=True,
                                        max_length=endpoints.MAX_DESCRIPTION_LENGTH)
    enabled = serializers.BooleanField(required=False, help_text="true clears the disabled reason and the "
                                                                 "failing run; false disables it (reason manual).")
    ordered = serializers.BooleanField(required=False)


class WebhookSecretRotateSerializer(StrictSerializer):
    secret = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                   max_length=secrets.MAX_LENGTH,
                                   help_text=f"The new secret; left out, one is generated. {secrets.RULE}")


class WebhookEndpointSerializer(StrictModelSerializer):
    events = serializers.ListField(source="event_types", child=serializers.CharField())
    disabledReason = serializers.SerializerMethodField()
    disabledAt = serializers.DateTimeField(source="disabled_at", allow_null=True)
    failingSince = serializers.DateTimeField(source="failing_since", allow_null=True,
                                             help_text="Start of the current run of failed deliveries.")
    plugin = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    secretRotatedUntil = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "ordered", "disabledReason", "disabledAt",
                  "failingSince", "plugin", "createdAt", "updatedAt", "secretRotatedUntil"]
        read_only_fields = fields

    def get_disabledReason(self, endpoint) -> serializers.ChoiceField(
            choices=WebhookEndpoint.DisabledReason.choices, allow_null=True):
        """Why the endpoint is disabled: manual, gone (410), failing; null when enabled."""
        return endpoint.disabled_reason or None

    def get_plugin(self, endpoint) -> str | None:
        """The plugin (plugin-...) whose key created the endpoint; null for the organization's."""
        return endpoint.plugin.plugin_id if endpoint.plugin_id else None

    def get_secretRotatedUntil(self, endpoint) -> serializers.DateTimeField(allow_null=True):
        """Until when the secret before the last rotation still signs deliveries; null when it no longer does."""
        return serializers.DateTimeField().to_representation(until) if (
            until := endpoints.previous_secret_valid_until(endpoint)) else None


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="Shown this once: store it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookTestEventSerializer(StrictSerializer):
    eventId = serializers.CharField(help_text="The `webhook.test` event (evt_...); its message to the endpoint "
                                              "is listed with the endpoint's messages.")
    type = serializers.CharField()
    endpointId = serializers.CharField()
