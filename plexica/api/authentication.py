"""Who is calling: API keys (`Authorization: Bearer plx_...`) and logged-in admin sessions."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from plexica.errors import Forbidden
from plexica.tenancy.models import ApiKey
from plexica.tenancy.services import find_api_key

AUTH_REQUIRED_MESSAGE = "Send 'Authorization: Bearer <api key>' or log in to the admin."


class ApiKeyUser:
    """`request.user` for keys that do not act as a person (organization and plugin keys)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key):
        self.api_key = api_key
        self.username = f"apikey:{api_key.pk}"

    def __str__(self):
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not token.strip():
            raise exceptions.AuthenticationFailed(AUTH_REQUIRED_MESSAGE)
        key = find_api_key(token.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown, revoked or expired.")
        user = key.membership.user if key.membership_id else ApiKeyUser(key)
        return user, key

    def authenticate_header(self, request):
        return self.keyword


class AdminSessionAuthentication(authentication.SessionAuthentication):
    """A logged-in admin session (CSRF-checked on unsafe methods), for browsing the API and Swagger UI."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc.detail), code="csrf_failed") from None


@dataclass(frozen=True)
class Principal:
    """The resolved caller of a tenant API request."""

    organization: object
    api_key: ApiKey | None = None
    membership: object = None
    user: object = None
    is_superuser: bool = False

    @property
    def plugin(self):
        return self.api_key.plugin if self.api_key is not None and self.api_key.plugin_id else None

    @property
    def kind(self):
        if self.api_key is not None:
            return self.api_key.kind
        return "superuser" if self.is_superuser else ApiKey.Kind.MEMBER

    @property
    def is_org_admin(self):
        """Org keys, owners, admins and superusers manage the whole organization."""
        if self.is_superuser:
            return True
        if self.api_key is not None and self.api_key.kind == ApiKey.Kind.ORGANIZATION:
            return True
        return self.membership is not None and self.membership.is_org_admin

    def check_acts_for(self, plugin_id, doing="act for"):
        """A plugin key acts only as its own plugin; org admins act for any plugin of their org."""
        if self.plugin is not None:
            if self.plugin.plugin_id != plugin_id:
                raise Forbidden(f"This API key acts as {self.plugin.plugin_id}; it cannot {doing} {plugin_id}.",
                                code="org_capability_required")
        elif not self.is_org_admin:
            raise Forbidden("Only a plugin's own key or an organization admin may do this.",
                            code="org_capability_required")

    def has_scope(self, *scopes):
        """True when the key carries one of `scopes` (sessions and unscoped keys carry them all)."""
        if self.api_key is None or not self.api_key.scopes:
            return True
        return any(scope in self.api_key.scopes for scope in scopes)
