"""Who is calling: API keys (`Authorization: Bearer plx_...`) and logged-in admin sessions."""

from rest_framework import authentication, exceptions

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
