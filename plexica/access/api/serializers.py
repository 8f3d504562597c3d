from rest_framework import serializers

from plexica.access.models import AccessGrant, AccessRole
from plexica.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from plexica.ids import public_id_pattern


class GrantSerializer(StrictModelSerializer):
    resourceType = serializers.CharField(source="resource_type")
    resourceId = serializers.CharField(source="public_resource_id",
                                       help_text="The resource's public id: a pluginId (plugin-...) for plugins.")
    orgMembershipId = serializers.CharField(source="membership_id", allow_null=True)
    username = serializers.SerializerMethodField(help_text="The member's username, for member grants.")
    teamId = serializers.CharField(source="team_id", allow_null=True)
    teamSlug = serializers.SerializerMethodField()
    orgWide = serializers.BooleanField(source="org_wide")
    createdBy = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = AccessGrant
        fields = ["id", "resourceType", "resourceId", "role", "orgMembershipId", "username", "teamId", "teamSlug",
                  "orgWide", "createdBy", "createdAt", "updatedAt"]

    def get_username(self, grant) -> str | None:
        return grant.membership.user.get_username() if grant.membership_id else None

    def get_teamSlug(self, grant) -> str | None:
        return grant.team.slug if grant.team_id else None

    def get_createdBy(self, grant) -> str | None:
        return grant.created_by.get_username() if grant.created_by_id else None


class GrantInputSerializer(StrictSerializer):
    """Exactly one subject: orgMembershipId, teamId, or orgWide: true."""

    # "not false" rather than enum [true]: drf-spectacular would make a component of a one-value enum.
    REQUEST_SCHEMA = {"oneOf": [
        {"required": ["orgMembershipId"]},
        {"required": ["teamId"]},
        {"required": ["orgWide"], "properties": {"orgWide": {"not": {"enum": [False]}}}},
    ]}

    orgMembershipId = IdField(public_id_pattern("mem"), required=False, max_length=32)
    teamId = IdField(public_id_pattern("team"), required=False, max_length=32)
    orgWide = serializers.BooleanField(required=False, default=False)
    role = serializers.ChoiceField(choices=AccessRole.choices)

    def validate(self, attrs):
        given = [name for name in ("orgMembershipId", "teamId") if attrs.get(name)] + (
            ["orgWide"] if attrs.get("orgWide") else [])
        if len(given) != 1:
            raise serializers.ValidationError(
                {"orgMembershipId": "Name exactly one subject: orgMembershipId, teamId or orgWide: true"
                                    + (f" (got {', '.join(given)})." if given else ".")})
        return attrs
