"""Tenant access: the caller must belong to the organization that X-Tenant-Slug names."""

from rest_framework import exceptions, permissions

from plexica.access.services import require_member_capability, require_org_admin
from plexica.api.errors import is_gateway_path
from plexica.tenancy.models import ApiKey, Membership, Organization
from plexica.tenancy.principal import Principal

TENANT_HEADER = "X-Tenant-Slug"
FOREIGN_ORG_MESSAGE = "This credential has no access to the organization named by X-Tenant-Slug."


def requested_tenant_slug(request):
    """The organization slug the request names (read from the header, so request clones see it too)."""
    return request.headers.get(TENANT_HEADER, "").strip()


class TenantAccess(permissions.BasePermission):
    """Resolves `request.tenant` and `request.principal`; 403 for a foreign, unknown or suspended org."""

    message = FOREIGN_ORG_MESSAGE

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False  # DRF answers 401 (no credential) from here
        principal = resolve_principal(request.auth, user, requested_tenant_slug(request))
        if principal is None:
            raise exceptions.PermissionDenied(FOREIGN_ORG_MESSAGE, code="tenant_access_denied")
        if not principal.organization.is_active:
            raise exceptions.PermissionDenied("This organization is suspended.", code="organization_suspended")
        _check_scope(request, principal, view)
        request.tenant = principal.organization
        request.principal = principal
        request._request.tenant = principal.organization  # visible to middleware and logging too
        return True


def resolve_principal(api_key, user, slug):
    """The Principal for this credential in org `slug`, or None when it does not belong there."""
    if isinstance(api_key, ApiKey):
        if api_key.organization.slug != slug:
            return None
        return Principal(organization=api_key.organization, api_key=api_key, membership=api_key.membership,
                         user=api_key.membership.user if api_key.membership_id else None)
    if not getattr(user, "pk", None):
        return None
    if user.is_superuser:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            return None
        membership = Membership.objects.filter(organization=organization, user=user).first()
        return Principal(organization=organization, membership=membership, user=user, is_superuser=True)
    membership = Membership.objects.select_related("organization").filter(
        organization__slug=slug, user=user
    ).first()
    if membership is None:
        return None
    return Principal(organization=membership.organization, membership=membership, user=user)


def _check_scope(request, principal, view=None):
    """The scopes a key needs: the view's `required_scopes` for the method when it names them (any one
    of them suffices), else the gateway scope on gateway paths, else api:read / api:write by method. A view
    with `plugin_routes_scopes_admit` (the gateway's call) also admits a key's `ext:{pluginId}:routes` scope."""
    declared = getattr(view, "required_scopes", None) or {}
    if request.method in declared:
        needed = tuple(declared[request.method])
    elif is_gateway_path(request.path):
        needed = (ApiKey.Scope.GATEWAY,)
    elif request.method in permissions.SAFE_METHODS:
        needed = (ApiKey.Scope.API_READ, ApiKey.Scope.API_WRITE)
    else:
        needed = (ApiKey.Scope.API_WRITE,)
    if getattr(view, "plugin_routes_scopes_admit", False) and principal.api_key is not None \
            and principal.api_key.routes_scope_plugins:
        return  # an `ext:{pluginId}:routes` scope admits the gateway's call; the service checks its target
    if not principal.has_scope(*needed):
        raise exceptions.PermissionDenied(f"This API key lacks the '{needed[-1]}' scope.", code="insufficient_scope")


class IsOrgAdmin(permissions.BasePermission):
    """Org keys, owners and admins of the organization, superusers: the rule of
    `plexica.access.services.require_org_admin`, whose 403 it answers, for views that must refuse before
    they read a body (the services they call check it again for every other caller)."""

    def has_permission(self, request, view):
        principal = getattr(request, "principal", None)
        if principal is None:
            return False
        require_org_admin(principal, "This")
        return True


class IsOrgPerson(permissions.BasePermission):
    """Members (sessions and member keys), org admins and org keys, not a plugin's key: the rule of
    `plexica.access.services.require_member_capability`, whose 403 it answers before a body is read."""

    def has_permission(self, request, view):
        principal = getattr(request, "principal", None)
        if principal is None:
            return False
        require_member_capability(principal, "This")
        return True
