"""Who calls the MCP server: `Authorization: Bearer <api key>` (member, organization and plugin keys), in the
organization `X-Tenant-Slug` names (optional for a key: a key belongs to one organization). No HTTP framework."""

from plexica.api.permissions import FOREIGN_ORG_MESSAGE, resolve_principal
from plexica.tenancy.services import find_api_key

TENANT_HEADER = "x-tenant-slug"


class Refused(Exception):
    """The request's credential is missing or bad (401) or has no access to the organization (403)."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def authenticate(authorization, tenant_slug):
    """The Principal of a request's `Authorization` and `X-Tenant-Slug` headers, or Refused."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if not authorization or scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "authentication_required", "Send 'Authorization: Bearer <api key>' (a member, "
                      "organization or plugin key of the organization).")
    key = find_api_key(token.strip())
    if key is None:
        raise Refused(401, "authentication_failed", "The API key is unknown, revoked or expired.")
    slug = (tenant_slug or "").strip() or key.organization.slug
    principal = resolve_principal(key, None, slug)
    if principal is None:
        raise Refused(403, "tenant_access_denied", FOREIGN_ORG_MESSAGE)
    if not principal.organization.is_active:
        raise Refused(403, "organization_suspended", "This organization is suspended.")
    return principal
