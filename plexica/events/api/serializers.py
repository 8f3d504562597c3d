"""Request and response bodies of the event log API (`/api/v1/events`)."""

from django.conf import settings
from rest_framework import serializers

from plexica.api.serializers import JSONObjectField, PatternTextField, StrictSerializer
from plexica.events import patterns, services
from plexica.events.models import Event


class EventTypeField(PatternTextField):
    """An event type, in the schema's pattern, refused with the rule's own words."""

    def __init__(self, **kwargs):
        super().__init__(patterns.TYPE_PATTERN, max_length=patterns.MAX_TYPE_LENGTH, **kwargs)

    def run_validators(self, value):
        problem = patterns.type_error(value)
        if problem:
            raise serializers.ValidationError(problem)
        super().run_validators(value)


class SubjectInputSerializer(StrictSerializer):
    type = PatternTextField(services.SUBJECT_TYPE_PATTERN, max_length=services.SUBJECT_TYPE_MAX_LENGTH,
                            help_text="The resource type the event is about, e.g. `contact`.")
    id = serializers.CharField(max_length=services.SUBJECT_ID_MAX_LENGTH, help_text="The resource's id.")


class EmitEventSerializer(StrictSerializer):
    type = EventTypeField(help_text=(
        "Two or more dot-separated parts, e.g. `contact.created`. A plugin key emits only types under its "
        "plugin id (`plugin-crm.contact.created`); no one emits under a platform prefix (`plugin.`, "
        "`config_object.`, ...: those are the platform's own events)."))
    data = JSONObjectField(required=False, default=dict, help_text=(
        f"A JSON object of at most {settings.EVENTS_MAX_DATA_BYTES} bytes as compact UTF-8 JSON "
        "(EVENTS_MAX_DATA_BYTES); larger is a 413 naming `data`."))
    subject = SubjectInputSerializer(required=False, allow_null=True, default=None,
                                     help_text="What the event is about (optional).")

    def subject_tuple(self):
        subject = self.validated_data.get("subject")
        return (subject["type"], subject["id"]) if subject else None


class ActorSerializer(serializers.Serializer):
    # Text, not an enum: drf-spectacular would name the enum after the field (`type`), shared by other types.
    type = serializers.CharField(help_text="One of: " + ", ".join(
        f"`{value}` ({label})" for value, label in Event.ActorType.choices) + ".")
    id = serializers.CharField(allow_null=True, help_text=(
        "The API key id (key_...), the member's username, the plugin id, or `system`."))


class SubjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="The event id (evt_...).")
    type = serializers.CharField()
    occurredAt = serializers.DateTimeField(source="occurred_at")
    actor = ActorSerializer()
    subject = SubjectSerializer(allow_null=True)
    data = JSONObjectField()
    requestId = serializers.SerializerMethodField(help_text="The X-Request-ID of the request that emitted it.")
    position = serializers.IntegerField(help_text=(
        "1, 2, 3, ... per organization in commit order, without gaps: poll with `after` = the last one seen."))

    def get_requestId(self, event) -> str | None:
        return event.request_id or None
