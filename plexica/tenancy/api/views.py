"""The tenancy API: who the caller is, the organization's members and teams, and its API keys."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action

from plexica.api.permissions import IsOrgAdmin, TenantAccess
from plexica.api.query import choice_parameter, query_choice, query_text, text_parameter
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantAPIView, TenantViewSet, item_response, mutation_response
from plexica.tenancy import services
from plexica.tenancy.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MemberSerializer,
    MeSerializer,
    OrganizationSerializer,
    TeamSerializer,
)
from plexica.tenancy.models import ApiKey, Membership, Team


class MeView(TenantAPIView):
    """Who the credential is, in which organization."""

    schema_tags = ["identity"]

    @extend_schema(responses=item_envelope("MeItem", MeSerializer()))
    def get(self, request):
        principal = request.principal
        key = principal.api_key
        return item_response(
            {
                "organization": OrganizationSerializer(principal.organization).data,
                "principal": {
                    "kind": principal.kind,
                    "apiKeyId": key.pk if key else None,
                    "pluginId": principal.plugin.plugin_id if principal.plugin else None,
                    "username": principal.user.get_username() if principal.user else None,
                    "orgMembershipId": principal.membership.pk if principal.membership else None,
                    "role": principal.membership.role if principal.membership else None,
                    "isOrgAdmin": principal.is_org_admin,
                    "scopes": list(key.scopes) if key and key.scopes else list(ApiKey.Scope.values),
                },
            }
        )


API_KEY_STATES = ("active", "revoked")


@extend_schema(tags=["api-keys"])
@extend_schema_view(list=extend_schema(parameters=[
    choice_parameter("state", API_KEY_STATES, "Only active (not revoked) or only revoked keys."),
    text_parameter("pluginId", "Only the keys of this plugin (plugin-...)."),
]))
class ApiKeyViewSet(mixins.ListModelMixin, TenantViewSet):
    """API keys of the organization. Tokens are shown once, in the create response."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    # The services admit org admins only; IsOrgAdmin (the same rule) answers before a body or filter is read.
    permission_classes = [TenantAccess, IsOrgAdmin]

    def get_queryset(self):
        # A typo in state is a 400: it must not quietly list every key.
        return services.list_api_keys(self.request.principal, state=query_choice(self.request, "state", API_KEY_STATES),
                                      plugin_id=query_text(self.request, "pluginId"))

    @extend_schema(responses=item_envelope("ApiKeyItem", ApiKeySerializer()))
    def retrieve(self, request, pk):
        return item_response(ApiKeySerializer(services.get_api_key(request.principal, pk)).data)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: mutation_envelope("ApiKeyCreatedResponse", ApiKeyCreatedSerializer())},
    )
    def create(self, request, *args, **kwargs):
        serializer = ApiKeyCreateSerializer(data=request.data, context={"organization": request.tenant})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key, token = services.create_api_key(
            request.principal,
            name=data["name"],
            plugin=data.get("plugin"),
            membership=data.get("membership"),
            scopes=data.get("scopes", []),
            expires_at=data.get("expiresAt"),
        )
        key.token = token
        return mutation_response(ApiKeyCreatedSerializer(key).data, status=201)

    @extend_schema(request=None, responses=mutation_envelope("ApiKeyRevoked", ApiKeySerializer()))
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk):
        return mutation_response(ApiKeySerializer(services.revoke_api_key(request.principal, pk)).data)


@extend_schema(tags=["identity"])
class MemberViewSet(mixins.ListModelMixin, TenantViewSet):
    """The organization's members, for anyone in it: their ids are what access grants name."""

    queryset = Membership.objects.all()
    serializer_class = MemberSerializer
    cursor_ordering = ("user__username", "id")

    def get_queryset(self):
        return services.list_members(self.request.principal, team_id=query_text(self.request, "teamId"))

    @extend_schema(operation_id="listMembers", parameters=[
        text_parameter("teamId", "Only the members of this team (team_...)."),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["identity"])
class TeamViewSet(mixins.ListModelMixin, TenantViewSet):
    """The organization's teams, for anyone in it."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    cursor_ordering = ("slug", "id")

    def get_queryset(self):
        return services.list_teams(self.request.principal)

    @extend_schema(operation_id="listTeams")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
