from rest_framework import serializers

from marketplaces.models import PluginRelease
from plexica.api.serializers import StrictModelSerializer, StrictSerializer


class ServedItemSerializer(StrictSerializer):
    """One config object version a release holds (or a manifest serves); no payload."""

    configObjectId = serializers.CharField(source="config_object_id")
    type = serializers.CharField()
    title = serializers.CharField(help_text="The object's current title.")
    versionId = serializers.CharField(source="version_id")
    sha256 = serializers.CharField(help_text="SHA-256 of the version's canonical content.")


class ReleaseSerializer(StrictModelSerializer):
    """A release without its items (as lists show it)."""

    pluginId = serializers.CharField(source="plugin.plugin_id")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    pinned = serializers.SerializerMethodField(help_text="True while delivery serves this release.")
    pinnedAt = serializers.DateTimeField(source="pinned_at", allow_null=True)
    itemCount = serializers.IntegerField(source="item_count", help_text="Config object versions it holds.")

    class Meta:
        model = PluginRelease
        fields = ["id", "pluginId", "name", "notes", "createdBy", "createdAt", "pinned", "pinnedAt",
                  "itemCount"]
        read_only_fields = fields

    def get_pinned(self, release) -> bool:
        return release.pinned_at is not None


class ReleaseDetailSerializer(ReleaseSerializer):
    """A release with every item it holds; it never changes, even when its objects are edited or deleted."""

    items = ServedItemSerializer(source="served_items", many=True)

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "items"]
        read_only_fields = fields


class CreateReleaseSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                 help_text="A label such as 2026.11 or 1.4.0.")
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000,
                                  trim_whitespace=False)
    pin = serializers.BooleanField(required=False, default=False,
                                   help_text="Pin it (and unpin any other) in the same transaction.")
