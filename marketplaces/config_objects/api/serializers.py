"""Request and response bodies of the config object and version API."""

from rest_framework import serializers

from marketplaces.config_objects.models import ConfigObject, ConfigObjectType, ConfigObjectVersion
from marketplaces.config_objects.services import VersionInput
from plexica.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from plexica.ids import PLUGIN_ID_PATTERN, public_id_pattern

# Any JSON value but null (OpenAPI 3.0 has no type "null" to exclude).
NOT_NULL = {"anyOf": [{"type": "object"}, {"type": "array", "items": {}}, {"type": "string"},
                      {"type": "number"}, {"type": "boolean"}]}


class VersionInputSerializer(StrictSerializer):
    REQUEST_SCHEMA = {"anyOf": [
        {"required": ["rawSourceText"], "properties": {"rawSourceText": {"type": "string"}}},
        {"required": ["normalizedPayloadJson"], "properties": {"normalizedPayloadJson": NOT_NULL}},
    ]}
    rawSourceText = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    normalizedPayloadJson = serializers.JSONField(required=False, allow_null=True)
    schemaVersion = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    metadata = serializers.DictField(required=False, default=dict,
                                     help_text="Free-form; fileName, relativePath and sourceRevision are used.")

    def validate(self, attrs):
        if attrs.get("rawSourceText") is None and attrs.get("normalizedPayloadJson") is None:
            raise serializers.ValidationError("Give rawSourceText or normalizedPayloadJson (or both).")
        return attrs


def version_input(data, reason=""):
    metadata = data.get("metadata") or {}
    revision = metadata.get("sourceRevision")
    return VersionInput(
        raw_source_text=data.get("rawSourceText"), normalized_payload_json=data.get("normalizedPayloadJson"),
        schema_version=data.get("schemaVersion") or "", metadata=metadata, reason=reason or "",
        source_revision=revision[:200] if isinstance(revision, str) else "",
    )


class CreateConfigObjectSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=ConfigObjectType.choices)
    sourceMode = serializers.ChoiceField(choices=ConfigObject.SourceMode.choices,
                                         default=ConfigObject.SourceMode.CLOUD)
    pluginIds = serializers.ListField(child=IdField(PLUGIN_ID_PATTERN), required=False, default=list,
                                      max_length=100, help_text="Plugins (plugin-... ids) the object joins.")
    input = VersionInputSerializer()


class NewVersionSerializer(StrictSerializer):
    input = VersionInputSerializer()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    baseVersionId = IdField(public_id_pattern("ver"), required=False, max_length=32,
                            help_text="The latest version id you read (instead of If-Match).")


class LatestVersionSummarySerializer(StrictSerializer):
    id = serializers.CharField()
    createdAt = serializers.DateTimeField()
    createdVia = serializers.CharField()
    schemaVersion = serializers.CharField()
    sha256 = serializers.CharField()
    isDeletedVersion = serializers.BooleanField()


class ConfigObjectSerializer(StrictModelSerializer):
    sourceMode = serializers.CharField(source="source_mode")
    fileName = serializers.CharField(source="file_name")
    fileExtension = serializers.CharField(source="file_extension")
    relativePath = serializers.CharField(source="relative_path")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True)
    latestVersion = serializers.SerializerMethodField()

    class Meta:
        model = ConfigObject
        fields = ["id", "type", "sourceMode", "title", "description", "fileName", "fileExtension", "relativePath",
                  "status", "createdBy", "createdAt", "updatedAt", "deletedAt", "latestVersion"]
        read_only_fields = fields

    def get_latestVersion(self, obj) -> LatestVersionSummarySerializer(allow_null=True):
        """Read from the annotations of config_objects.services.with_latest_version."""
        if getattr(obj, "latest_version_id", None) is None:
            return None
        return LatestVersionSummarySerializer({
            "id": obj.latest_version_id, "createdAt": obj.latest_version_created_at,
            "createdVia": obj.latest_version_created_via, "schemaVersion": obj.latest_version_schema_version,
            "sha256": obj.latest_version_sha256, "isDeletedVersion": obj.latest_version_is_deleted_version,
        }).data


class VersionSummarySerializer(StrictModelSerializer):
    configObjectId = serializers.CharField(source="config_object_id")
    schemaVersion = serializers.CharField(source="schema_version")
    createdVia = serializers.CharField(source="created_via")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    sourceRevision = serializers.CharField(source="source_revision")
    isDeletedVersion = serializers.BooleanField(source="is_deleted_version")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ConfigObjectVersion
        fields = ["id", "configObjectId", "schemaVersion", "createdVia", "createdBy", "sourceRevision",
                  "isDeletedVersion", "sha256", "reason", "createdAt"]
        read_only_fields = fields


class VersionSerializer(VersionSummarySerializer):
    rawSourceText = serializers.CharField(source="raw_source_text", allow_null=True)
    normalizedPayloadJson = serializers.JSONField(source="normalized_payload_json", allow_null=True)

    class Meta(VersionSummarySerializer.Meta):
        fields = [*VersionSummarySerializer.Meta.fields, "metadata", "rawSourceText", "normalizedPayloadJson"]
        read_only_fields = fields


class VersionCompareSerializer(StrictSerializer):
    fromVersionId = serializers.CharField()
    toVersionId = serializers.CharField()
    identical = serializers.BooleanField()
    diff = serializers.CharField(help_text="A unified diff (difflib), empty when the versions are identical.")
