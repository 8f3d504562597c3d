"""Tenancy rules: organizations, memberships and API keys. No HTTP here.

What the API does takes the acting principal first and checks its own rule: API keys are managed by
org admins (`list_api_keys`, `create_api_key`, `revoke_api_key`), a person's own keys by that person
(`list_own_api_keys`, `create_own_api_key`, `revoke_own_api_key`: the members' page), the directory of members and teams is
read by anyone in the organization but a plugin's key (`list_members`, `list_teams`).

The bootstrap helpers (`create_organization`, `ensure_*`, `add_member`, `issue_api_key`, `reissue_api_key`,
`rotate_api_key`, `revoke_api_keys`) are operator tools for management commands, seeding and the
organization-scoped admin: they take no principal, and their callers decide who may run them.

Issuing a key emits api_key.created and revoking one api_key.revoked, in the transaction of the change (the
services' principal is the events' actor; the operator tools name the system unless given an `actor`).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from plexica.access.services import require_member_capability, require_org_admin
from plexica.errors import Forbidden, NotFound
from plexica.tenancy.events import emit_key_event
from plexica.tenancy.models import ApiKey, Membership, Organization, Team, TeamMembership, slug_validator

TOKEN_PREFIX = "plx_"
VISIBLE_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token():
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_organization(slug, name=None):
    """Create the organization `slug`, or return the existing one. Returns (org, created).

    Operator command: no principal.
    """
    slug_validator(slug)
    return Organization.objects.get_or_create(slug=slug, defaults={"name": name or slug})


def add_member(organization, user, role=Membership.Role.MEMBER, team_slug=None):
    """Make `user` a member of `organization` with `role` (updating the role if already a member).

    Operator command: no principal.
    """
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role '{role}': use one of {', '.join(Membership.Role.values)}.")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        if team_slug:
            slug_validator(team_slug)
            team, _ = Team.objects.get_or_create(
                organization=organization, slug=team_slug, defaults={"name": team_slug}
            )
            TeamMembership.objects.get_or_create(team=team, membership=membership)
    return membership, created


def ensure_user(username, password=None, **fields):
    """Return the user `username`, creating it (unusable password unless one is given).

    Operator command: no principal.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults=fields)
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user, created


def issue_api_key(
    organization, *, name, plugin=None, membership=None, scopes=(), expires_at=None, created_by=None, actor=None
):
    """Create an API key and return (key, token). The token exists only in this return value.

    Operator command: no principal (commands, seeding, tests); the API goes through `create_api_key`.
    api_key.created names `actor` (a Principal; None: the system).
    """
    key = ApiKey(
        organization=organization,
        name=name,
        plugin=plugin,
        membership=membership,
        scopes=list(scopes),
        expires_at=expires_at,
        created_by=created_by,
    )
    token = assign_new_token(key)
    key.full_clean()
    with transaction.atomic():
        key.save()
        emit_key_event(actor, "api_key.created", key, organization=organization)
    return key, token


def rotate_api_key(key):
    """Give `key` a new token (the old one stops working at once). Returns the new token.

    Operator command: no principal (see `reissue_api_key`).
    """
    forget_api_keys([key.key_hash])
    token = assign_new_token(key)
    key.revoked_at = None
    key.save(update_fields=["key_hash", "prefix", "revoked_at"])
    return token


def assign_new_token(key):
    """Give the (unsaved) `key` a fresh token's hash and prefix; returns the token, which is not stored."""
    token = generate_token()
    key.key_hash = hash_token(token)
    key.prefix = token[:VISIBLE_PREFIX_LENGTH]
    return token


def revoke_api_keys(queryset, actor=None):
    """Revoke every not-yet-revoked key of `queryset`, each with its api_key.revoked naming `actor` (a
    Principal; None: the system); returns how many were revoked. A revoked key is left alone (no event).

    No principal: the caller has scoped `queryset` already (the admin's organization-scoped changelist,
    `revoke_api_key` for the API).
    """
    now = timezone.now()
    with transaction.atomic():
        keys = list(queryset.filter(revoked_at__isnull=True).select_for_update(of=("self",))
                    .select_related("organization", "plugin"))
        revoked = ApiKey.objects.filter(pk__in=[key.pk for key in keys]).update(revoked_at=now)
        for key in keys:
            key.revoked_at = now
            emit_key_event(actor, "api_key.revoked", key, organization=key.organization)
    forget_api_keys([key.key_hash for key in keys])
    return revoked


# Resolved keys (with their organization, plugin and member) are cached by token hash, because the
# lookup is most of a request's cost. Every change that affects a key drops its entry: the services
# here and the signal handlers in tenancy/signals.py (saves and deletes of keys, organizations,
# plugins, memberships and users). Expiry and revocation times are still checked on every request.
def _key_cache_name(digest):
    return f"apikey:{digest}"


def forget_api_keys(hashes):
    """Drop cached lookups of the keys with these token hashes."""
    if hashes:
        cache.delete_many([_key_cache_name(digest) for digest in hashes])


def find_api_key(token):
    """The usable key whose token is `token`, with its organization, plugin and member loaded, or None.

    Authentication: this is where a principal comes from, so it takes none.
    """
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    digest = hash_token(token)
    ttl = settings.APIKEY_CACHE_SECONDS
    key = cache.get(_key_cache_name(digest)) if ttl else None
    if key is None:
        key = (
            ApiKey.objects.select_related("organization", "plugin", "membership__user")
            .filter(key_hash=digest)
            .first()
        )
        if key is None:
            return None
        if ttl:
            cache.set(_key_cache_name(digest), key, timeout=ttl)
    if not hmac.compare_digest(key.key_hash, digest):
        return None
    now = timezone.now()
    if not key.is_usable(now):
        return None
    if key.membership_id and not key.membership.user.is_active:
        return None
    _touch_last_used(key, now)
    return key


def _touch_last_used(key, now):
    # Written at most once per resolution window, so the hot path does not write on every request.
    stale_before = now - timedelta(seconds=settings.APIKEY_LAST_USED_RESOLUTION)
    if key.last_used_at is None or key.last_used_at < stale_before:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before)
        ).update(last_used_at=now)
        key.last_used_at = now
        if settings.APIKEY_CACHE_SECONDS:
            cache.set(_key_cache_name(key.key_hash), key, timeout=settings.APIKEY_CACHE_SECONDS)


def admin_organization_ids(user):
    """Ids of the organizations where `user` is an owner or admin (what the admin lets them manage)."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(
            user=user, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
        ).values_list("organization_id", flat=True)
    )


def ensure_organization(slug, name=None):
    """Create the organization `slug`, or return the existing one; rename it only when `name` is given.

    Operator command: no principal. Returns (org, created, renamed). Raises ValidationError for a bad slug
    or name.
    """
    if name is not None:
        name = Organization._meta.get_field("name").clean(name.strip(), None)
    organization, created = create_organization(slug, name)
    renamed = False
    if not created and name is not None and organization.name != name:
        organization.name = name
        organization.save(update_fields=["name"])
        renamed = True
    return organization, created, renamed


def ensure_team(organization, slug, name=None):
    """Return the team `slug` of `organization`, creating it named `name` (default: the slug).

    Operator command: no principal.
    """
    slug_validator(slug)
    return Team.objects.get_or_create(organization=organization, slug=slug, defaults={"name": name or slug})


def ensure_admin_login(user):
    """Let `user` log in to the admin (is_staff); never takes it away. Returns True when it changed.

    Owners and admins of an organization need this to manage it in the org-scoped admin. Operator
    command: no principal.
    """
    if user.is_staff:
        return False
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return True


def reissue_api_key(organization, *, name, plugin=None, membership=None, scopes=(), expires_at=None):
    """Issue the key named `name` with this binding, or give the existing one a fresh token.

    For well-known keys (demo data, provisioning scripts) whose token must be shown again: the old token
    stops working, the row is reused, and scopes and expiry are reset to the given ones. Operator command:
    no principal. Returns (key, token, created).
    """
    key = (
        ApiKey.objects.filter(organization=organization, name=name, plugin=plugin, membership=membership)
        .order_by("created_at")
        .first()
    )
    if key is None:
        key, token = issue_api_key(
            organization, name=name, plugin=plugin, membership=membership, scopes=scopes,
            expires_at=expires_at,
        )
        return key, token, True
    with transaction.atomic():
        token = rotate_api_key(key)
        key.scopes = list(scopes)
        key.expires_at = expires_at
        key.full_clean()
        key.save(update_fields=["scopes", "expires_at"])
    return key, token, False


# What the API does, as the acting principal


def list_api_keys(principal, *, state=None, plugin_id=None):
    """The organization's API keys (a queryset), optionally only the "active" or "revoked" ones, or only
    those of plugin `plugin_id`; org admins only."""
    require_org_admin(principal, "This")
    keys = ApiKey.objects.filter(organization=principal.organization).select_related("plugin")
    if state is not None:
        keys = keys.filter(revoked_at__isnull=(state == "active"))
    if plugin_id is not None:
        keys = keys.filter(plugin__plugin_id=plugin_id)
    return keys


def create_api_key(principal, *, name, plugin=None, membership=None, scopes=(), expires_at=None):
    """Issue a key of the organization (see `issue_api_key`), recording who created it; org admins only.

    `plugin` and `membership` must be the organization's (ValidationError otherwise). Returns (key, token).
    """
    require_org_admin(principal, "This")
    return issue_api_key(principal.organization, name=name, plugin=plugin, membership=membership, scopes=scopes,
                         expires_at=expires_at, created_by=principal.user, actor=principal)


def get_api_key(principal, key_id):
    """The organization's key `key_id`; org admins only. NotFound for a key of another organization."""
    require_org_admin(principal, "This")
    key = ApiKey.objects.filter(organization=principal.organization, pk=key_id).select_related("plugin").first()
    if key is None:
        raise NotFound(f"No API key {key_id} in this organization.", title="API key not found")
    return key


def revoke_api_key(principal, key_id):
    """Revoke the organization's key `key_id` (it stops working at once; revoking twice is no error) and
    return it; org admins only. NotFound for a key of another organization."""
    key = get_api_key(principal, key_id)
    revoke_api_keys(ApiKey.objects.filter(pk=key.pk), actor=principal)
    key.refresh_from_db()
    return key


def list_members(principal, *, team_id=None):
    """The organization's members (a queryset), optionally only those of team `team_id`; anyone in the
    organization but a plugin's key (their ids are what access grants name)."""
    require_member_capability(principal, "This")
    members = Membership.objects.filter(organization=principal.organization)
    members = members.select_related("user").prefetch_related("teams")
    return members.filter(teams__pk=team_id) if team_id is not None else members


def list_teams(principal):
    """The organization's teams with their `member_count` (a queryset); anyone in the organization but a
    plugin's key."""
    require_member_capability(principal, "This")
    return Team.objects.filter(organization=principal.organization).annotate(member_count=Count("team_memberships"))


# A person's own API keys (the members' page): keys bound to their membership act as them, so can do nothing
# they cannot; whoever is signed in as themselves manages theirs, not a key (a key does not mint keys).


def _require_person(principal):
    if principal.membership is None or principal.api_key is not None:
        raise Forbidden("Only a member signed in as themselves manages their own API keys.",
                        code="org_capability_required", capability="member")


def list_own_api_keys(principal):
    """The keys bound to the caller's own membership (a queryset); people signed in as themselves only."""
    _require_person(principal)
    return ApiKey.objects.filter(organization=principal.organization, membership=principal.membership)


def create_own_api_key(principal, *, name, scopes=(), expires_at=None):
    """Issue a key acting as the caller (bound to their membership, created by them); returns (key, token).

    The token exists only in this return value. ValidationError for a bad name or scopes.
    """
    _require_person(principal)
    return issue_api_key(principal.organization, name=name, membership=principal.membership, scopes=scopes,
                         expires_at=expires_at, created_by=principal.user, actor=principal)


def revoke_own_api_key(principal, key_id):
    """Revoke one of the caller's own keys (twice is no error) and return it; NotFound for anyone else's key."""
    key = list_own_api_keys(principal).filter(pk=key_id).first()
    if key is None:
        raise NotFound(f"You have no API key {key_id}.", title="API key not found")
    revoke_api_keys(ApiKey.objects.filter(pk=key.pk), actor=principal)
    key.refresh_from_db()
    return key
