from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from plexica.api.serializers import StrictSerializer
from plexica.plugins.models import PLUGIN_ID_PATTERN
from shareddata.services import Write

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_NAME_ERRORS = {"invalid": "Use 1 to 128 letters, digits and . _ : - (starting with a letter or digit)."}


MAX_TTL = 10 * 365 * 24 * 3600  # ten years


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_TTL})
class TtlField(serializers.Field):
    """A positive whole number of seconds, at most ten years (JSON numbers only: no strings, booleans or
    fractions)."""

    default_error_messages = {"invalid": f"Must be a positive whole number of seconds, at most {MAX_TTL}."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        if data < 1 or data > MAX_TTL:
            self.fail("invalid")
        return int(data)

    def to_representation(self, value):
        return value


class SetSharedDataSerializer(StrictSerializer):
    # The strict base refuses non-strings: a RegexField alone takes 7 as "7", and fails a list with its
    # "plugin-{name}" message, which DRF str.format()s (a KeyError, so a 500).
    namespace = serializers.RegexField(NAME_PATTERN, error_messages=_NAME_ERRORS)
    key = serializers.RegexField(NAME_PATTERN, error_messages=_NAME_ERRORS)
    value = serializers.JSONField(allow_null=True, help_text="Any JSON value, null included.")
    ownerId = serializers.RegexField(
        PLUGIN_ID_PATTERN, max_length=100,
        error_messages={"invalid": "Must look like plugin-{name}: lowercase letters, digits and hyphens."},
    )
    ttl = TtlField(required=False, allow_null=True, help_text="Seconds until the entry expires; absent: never.")

    def write(self):
        data = self.validated_data
        return Write(namespace=data["namespace"], key=data["key"], value=data["value"], owner_id=data["ownerId"],
                     ttl=data.get("ttl"))


class SharedEntrySerializer(StrictSerializer):
    namespace = serializers.CharField()
    key = serializers.CharField()
    value = serializers.JSONField(allow_null=True)
    ownerId = serializers.CharField(required=False)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)


class KeyListSerializer(StrictSerializer):
    namespace = serializers.CharField()
    keys = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField(help_text="All live keys matching the filter, not just this page.")
    nextCursor = serializers.CharField(required=False, help_text="Present when more keys follow.")
