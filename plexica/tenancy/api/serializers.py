from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from plexica.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from plexica.ids import PLUGIN_ID_PATTERN, public_id_pattern
from plexica.plugins.models import Plugin
from plexica.tenancy.models import (
    PLUGIN_ROUTES_SCOPE_PATTERN,
    ApiKey,
    Membership,
    Organization,
    Team,
    is_valid_scope,
)


class OrganizationSerializer(StrictModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "slug", "name", "status"]
        read_only_fields = fields


class ApiKeySerializer(StrictModelSerializer):
    kind = serializers.CharField(read_only=True)
    pluginId = serializers.SerializerMethodField()
    membershipId = serializers.CharField(source="membership_id", read_only=True, allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", read_only=True, allow_null=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "kind", "pluginId", "membershipId", "scopes", "expiresAt",
                  "revokedAt", "lastUsedAt", "createdAt"]
        read_only_fields = fields

    def get_pluginId(self, key) -> str | None:
        return key.plugin.plugin_id if key.plugin_id else None


class ApiKeyCreatedSerializer(ApiKeySerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["token"]
        read_only_fields = fields


@extend_schema_field({"anyOf": [
    {"type": "string", "enum": ApiKey.Scope.values},
    {"type": "string", "pattern": PLUGIN_ROUTES_SCOPE_PATTERN, "maxLength": 111,
     "description": "`ext:{pluginId}:routes`: the key calls (through the gateway) only the plugins such scopes name."},
]})
class ScopeField(serializers.CharField):
    """A key's scope: one of ApiKey.Scope, or the extensions seed's `ext:{pluginId}:routes`."""

    def __init__(self, **kwargs):
        super().__init__(max_length=111, trim_whitespace=False, **kwargs)

    def run_validators(self, value):
        super().run_validators(value)
        if not is_valid_scope(value):
            raise serializers.ValidationError(
                f"Not a scope: one of {', '.join(ApiKey.Scope.values)}, or ext:{{pluginId}}:routes "
                "(e.g. ext:plugin-crm:routes).")


class ApiKeyCreateSerializer(StrictSerializer):
    REQUEST_SCHEMA = {"not": {"required": ["pluginId", "membershipId"]}}  # a plugin's key or a member's

    name = serializers.CharField(max_length=100)
    pluginId = IdField(PLUGIN_ID_PATTERN, required=False,
                       help_text="Bind the key to this plugin of the organization.")
    membershipId = IdField(public_id_pattern("mem"), required=False, max_length=32,
                           help_text="Bind the key to this member (mem_…).")
    scopes = serializers.ListField(child=ScopeField(), required=False, default=list, max_length=100)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)

    def validate_expiresAt(self, value):
        # A key that is dead on arrival is a mistake (a wrong year, a time zone slip), not a request.
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value

    def validate(self, attrs):
        organization = self.context["organization"]
        if attrs.get("pluginId") and attrs.get("membershipId"):
            raise serializers.ValidationError({"membershipId": "A key acts as a plugin or as a member, not both."})
        if attrs.get("pluginId"):
            attrs["plugin"] = Plugin.objects.filter(organization=organization, plugin_id=attrs["pluginId"]).first()
            if attrs["plugin"] is None:
                raise serializers.ValidationError({"pluginId": f"No plugin '{attrs['pluginId']}' in this organization."})
        if attrs.get("membershipId"):
            attrs["membership"] = Membership.objects.filter(organization=organization, pk=attrs["membershipId"]).first()
            if attrs["membership"] is None:
                raise serializers.ValidationError({"membershipId": "No such member in this organization."})
        return attrs


class PrincipalSerializer(StrictSerializer):
    kind = serializers.CharField()
    apiKeyId = serializers.CharField(allow_null=True)
    pluginId = serializers.CharField(allow_null=True)
    username = serializers.CharField(allow_null=True)
    orgMembershipId = serializers.CharField(allow_null=True, help_text="Name this member in access grants.")
    role = serializers.CharField(allow_null=True)
    isOrgAdmin = serializers.BooleanField()
    scopes = serializers.ListField(child=serializers.CharField())


class MeSerializer(StrictSerializer):
    organization = OrganizationSerializer()
    principal = PrincipalSerializer()


class TeamSerializer(StrictModelSerializer):
    memberCount = serializers.IntegerField(source="member_count", read_only=True)

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "memberCount"]


class MemberSerializer(StrictModelSerializer):
    """A person in the organization: `id` is the orgMembershipId that access grants name."""

    username = serializers.CharField(source="user.username")
    displayName = serializers.SerializerMethodField()
    teamIds = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Membership
        fields = ["id", "username", "displayName", "role", "teamIds", "createdAt"]

    def get_displayName(self, membership) -> str:
        return membership.user.get_full_name() or membership.user.username

    def get_teamIds(self, membership) -> list[str]:
        return sorted(team.pk for team in membership.teams.all())
