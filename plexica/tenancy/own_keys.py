"""A member's own API keys: list, issue and revoke the keys that act as them. No HTTP.

Org admins manage every key of the organization (plexica.tenancy.services); any person of the organization
manages the keys bound to their own membership here, which act as them and so can do nothing they cannot.
"""

from plexica.errors import Forbidden, NotFound
from plexica.tenancy.models import ApiKey
from plexica.tenancy.services import issue_api_key, revoke_api_keys


def _require_person(principal):
    if principal.membership is None or principal.api_key is not None:
        raise Forbidden("Only a member signed in as themselves manages their own API keys.",
                        code="org_capability_required", capability="member")


def list_own_api_keys(principal):
    """The keys bound to the caller's membership, newest first (a queryset)."""
    _require_person(principal)
    return ApiKey.objects.filter(organization=principal.organization, membership=principal.membership)


def create_own_api_key(principal, *, name, scopes=(), expires_at=None):
    """Issue a key acting as the caller (bound to their membership); returns (key, token).

    The token exists only in this return value. ValidationError for a bad name or scopes.
    """
    _require_person(principal)
    return issue_api_key(principal.organization, name=name, membership=principal.membership, scopes=scopes,
                         expires_at=expires_at, created_by=principal.user)


def revoke_own_api_key(principal, key_id):
    """Revoke one of the caller's own keys (revoking twice is no error) and return it; NotFound otherwise."""
    key = list_own_api_keys(principal).filter(pk=key_id).first()
    if key is None:
        raise NotFound(f"You have no API key {key_id}.", title="API key not found")
    revoke_api_keys(ApiKey.objects.filter(pk=key.pk))
    key.refresh_from_db()
    return key
