"""Base classes for tenant API views: header, authentication, org access, rate limits, in that order."""

from django.conf import settings
from rest_framework import exceptions, generics, viewsets
from rest_framework.response import Response

from plexica.api.authentication import AUTH_REQUIRED_MESSAGE, AdminSessionAuthentication, ApiKeyAuthentication
from plexica.api.errors import RateLimited, TenantHeaderRequired
from plexica.api.parsers import JSONParser
from plexica.api.permissions import TenantAccess, requested_tenant_slug
from plexica.api.ratelimit import hit_request_limits


class TenantAPIMixin:
    authentication_classes = [ApiKeyAuthentication, AdminSessionAuthentication]
    permission_classes = [TenantAccess]
    parser_classes = [JSONParser]
    tenant_scoped = True  # read by the OpenAPI schema to document the header

    def initial(self, request, *args, **kwargs):
        if not requested_tenant_slug(request):
            raise TenantHeaderRequired()
        super().initial(request, *args, **kwargs)
        self.enforce_rate_limits(request)
        refuse_nul_characters(kwargs, request.query_params)

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated(AUTH_REQUIRED_MESSAGE)
        super().permission_denied(request, message, code)

    def enforce_rate_limits(self, request):
        if not settings.RATELIMIT_ENABLED:
            return
        principal = request.principal
        credential = principal.api_key.pk if principal.api_key is not None else f"user:{principal.user.pk}"
        state = hit_request_limits(principal.organization.pk, credential)
        request.rate_limit = state
        if state.exceeded:
            raise RateLimited(
                f"Rate limit of {state.limit} requests per minute exceeded.",
                retry_after=state.retry_after,
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for header, value in state.headers().items():
                response[header] = value
        return response


class TenantAPIView(TenantAPIMixin, generics.GenericAPIView):
    pass


class TenantViewSet(TenantAPIMixin, viewsets.GenericViewSet):
    """A viewset whose queryset is always filtered to the request's organization."""

    organization_field = "organization"

    def get_queryset(self):
        return super().get_queryset().filter(**{self.organization_field: self.request.tenant})


def item_response(data, status=200, headers=None):
    return Response({"item": data}, status=status, headers=headers)


def mutation_response(data, status=200, headers=None):
    return Response({"ok": True, "item": data}, status=status, headers=headers)


def refuse_nul_characters(path_kwargs, query_params):
    """No id or filter holds a NUL character, and PostgreSQL cannot even compare one: 404 for a path part,
    400 naming the parameter for a query string."""
    if any("\x00" in str(value) for value in path_kwargs.values()):
        raise exceptions.NotFound("No such resource: the path contains a NUL character.")
    for name, values in query_params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise exceptions.ValidationError({name.replace("\x00", ""): "A NUL character is not accepted here."})
