from rest_framework import serializers

from plexica.api.serializers import PatternTextField, StrictModelSerializer, StrictSerializer
from plexica.plugins.models import (
    PERMISSION_PATTERN,
    SEMVER_PATTERN,
    Capability,
    PermissionGrant,
    Plugin,
    validate_semver,
)

SEMVER_MAX_LENGTH = 64


class SemanticVersionField(PatternTextField):
    """A semantic version (SemVer 2.0: 1.4.0, 2.0.0-rc.1+build.5), exactly as sent."""

    def __init__(self, **kwargs):
        super().__init__(SEMVER_PATTERN, max_length=SEMVER_MAX_LENGTH, validators=[validate_semver], **kwargs)


class PluginSerializer(StrictModelSerializer):
    id = serializers.CharField(source="plugin_id", read_only=True)
    lifecycleState = serializers.CharField(source="lifecycle_state", read_only=True)
    catalogStatus = serializers.CharField(source="catalog_status", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Plugin
        fields = ["id", "name", "description", "version", "manifest", "lifecycleState", "catalogStatus",
                  "createdAt", "updatedAt"]
        read_only_fields = fields


class PermissionGrantSerializer(StrictModelSerializer):
    pluginId = serializers.CharField(source="plugin.plugin_id", read_only=True)
    grantedAt = serializers.DateTimeField(source="granted_at", read_only=True)
    grantedBy = serializers.CharField(source="granted_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = PermissionGrant
        # A grant is known by its permission string (the revoke URL names it), never by a row number.
        fields = ["pluginId", "permission", "grantedAt", "grantedBy"]


class GrantPermissionSerializer(StrictSerializer):
    permission = serializers.RegexField(
        PERMISSION_PATTERN, max_length=200,
        error_messages={"invalid": "Letters, digits and . _ : * - only (for example crm:contacts:read)."},
    )


class CapabilitySerializer(StrictSerializer):
    """A capability the plugin holds (a read-only answer)."""

    capability = serializers.ChoiceField(choices=Capability.choices)
    requested = serializers.BooleanField(help_text="The plugin's manifest requests it.")
    default = serializers.BooleanField(
        help_text="Held through the legacy default (the manifest requests nothing), not through a grant.")
    grantedAt = serializers.DateTimeField(source="granted_at", allow_null=True)
    grantedBy = serializers.CharField(source="granted_by.username", allow_null=True, default=None)


class GrantCapabilitySerializer(StrictSerializer):
    capability = serializers.ChoiceField(choices=Capability.choices)
