"""Every kind of caller a service can have, as the Principal the API (or a worker) would build, without HTTP.

`acting_as(kind, org, plugin=...)` makes the caller (and the user, membership or key behind it) in `org`.
Service tests walk CALLERS and expect their rule to admit exactly ORG_ADMINS, PEOPLE or everyone.
"""

from django.contrib.auth import get_user_model

from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user, issue_api_key

CALLERS = ("member", "member key", "plugin key", "org admin", "owner key", "org key", "superuser", "system")
ORG_ADMINS = frozenset({"org admin", "owner key", "org key", "superuser", "system"})
PEOPLE = ORG_ADMINS | {"member", "member key"}  # everyone but a plugin's key


def _membership(org, username, role):
    user, _ = ensure_user(username)
    return add_member(org, user, role)[0]


def _from_key(key):
    return Principal(organization=key.organization, api_key=key, membership=key.membership,
                     user=key.membership.user if key.membership_id else None)


def acting_as(kind, org, plugin=None):
    """The principal of a caller of `kind` (one of CALLERS) in `org`; a plugin key is `plugin`'s."""
    if kind == "member":
        membership = _membership(org, "caller-member", Membership.Role.MEMBER)
        return Principal(organization=org, membership=membership, user=membership.user)
    if kind == "member key":
        membership = _membership(org, "caller-member", Membership.Role.MEMBER)
        return _from_key(issue_api_key(org, name="member key", membership=membership)[0])
    if kind == "plugin key":
        return _from_key(issue_api_key(org, name="plugin key", plugin=plugin)[0])
    if kind == "org admin":
        membership = _membership(org, "caller-admin", Membership.Role.ADMIN)
        return Principal(organization=org, membership=membership, user=membership.user)
    if kind == "owner key":
        membership = _membership(org, "caller-owner", Membership.Role.OWNER)
        return _from_key(issue_api_key(org, name="owner key", membership=membership)[0])
    if kind == "org key":
        return _from_key(issue_api_key(org, name="org key")[0])
    if kind == "superuser":
        user = get_user_model().objects.create_superuser("caller-root", password=None)
        return Principal(organization=org, user=user, is_superuser=True)
    if kind == "system":
        return Principal.system(org)
    raise ValueError(f"no caller kind {kind!r}")
