"""Response and request bodies of an endpoint's messages and attempts."""

from rest_framework import serializers

from plexica.api.serializers import StrictSerializer
from webhooks.outbound.models import WebhookAttempt, WebhookMessage


class WebhookAttemptSerializer(serializers.ModelSerializer):
    startedAt = serializers.DateTimeField(source="started_at")
    durationMs = serializers.IntegerField(source="duration_ms")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True,
                                          help_text="The answer's status; null when none came (timeout, refused).")
    responseBody = serializers.CharField(source="response_body", help_text="The first 4 KiB of the answer.")
    error = serializers.CharField(help_text="Why the attempt failed (empty when it succeeded).")
    trigger = serializers.ChoiceField(choices=WebhookAttempt.Trigger.choices)
    outcome = serializers.ChoiceField(choices=WebhookAttempt.Outcome.choices)

    class Meta:
        model = WebhookAttempt
        fields = ["number", "trigger", "outcome", "url", "startedAt", "durationMs", "statusCode", "responseBody",
                  "error"]
        read_only_fields = fields


class WebhookMessageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(help_text="The message id (msg_...): the `webhook-id` header of every attempt.")
    endpointId = serializers.CharField(source="endpoint_id")
    eventId = serializers.CharField(source="event.public_id", help_text="The event delivered (evt_...).")
    eventType = serializers.CharField(source="event_type")
    status = serializers.ChoiceField(choices=WebhookMessage.Status.choices)
    attempts = serializers.IntegerField(help_text="Attempts made so far.")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True,
                                              help_text="When a pending message is tried next.")
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = WebhookMessage
        fields = ["id", "endpointId", "eventId", "eventType", "position", "status", "attempts", "nextAttemptAt",
                  "lastStatusCode", "lastError", "createdAt", "finishedAt"]
        read_only_fields = fields


class WebhookMessageDetailSerializer(WebhookMessageSerializer):
    attemptLog = serializers.SerializerMethodField(help_text="Its attempts, newest first (the latest 50).")

    class Meta(WebhookMessageSerializer.Meta):
        fields = [*WebhookMessageSerializer.Meta.fields, "attemptLog"]
        read_only_fields = fields

    def get_attemptLog(self, message) -> WebhookAttemptSerializer(many=True):
        return WebhookAttemptSerializer(self.context.get("attempts", []), many=True).data


class RecoverSerializer(StrictSerializer):
    since = serializers.DateTimeField(help_text="Recover the failed messages created at or after this time "
                                                "(ISO 8601).")


class RecoveredSerializer(serializers.Serializer):
    endpointId = serializers.CharField()
    since = serializers.DateTimeField()
    recovered = serializers.IntegerField(help_text="How many failed messages are pending again.")
