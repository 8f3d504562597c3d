"""Who may do what to the shareable resources (config objects, plugins, marketplaces, connector and integration
instances...).

No HTTP: API views, the admin and workers all call these with the acting principal.

Roles are viewer < editor < manager. A caller's effective role on a resource is the strongest active grant
that names them (their membership, one of their teams, or the whole organization). On top of grants:

- org owners/admins, org API keys, superusers and the system principal are managers of everything in their
  organization;
- a resource type may let callers inherit viewer access from elsewhere (`registry.add_viewable_through`:
  a plugin in a marketplace the caller can see, a config object in a plugin the caller can view, a
  plugin's own API key viewing its plugin); inherited access never grants more than viewer.

Granting (a new grant, a restored one, a changed role) emits access.granted and revoking access.revoked, in
the transaction of the change; granting a subject the role it already has changes nothing and emits nothing.

Everything is private by default. Denials come in two kinds, so a 403 says which one it is:
`org_capability_required` when the caller's standing in the organization does not allow the action at all
(creating a marketplace as a plain member), `resource_access_denied` when they lack the role on that one
resource.
"""

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from plexica.access import registry
from plexica.access.events import emit_grant_event
from plexica.access.models import ROLE_RANK, AccessGrant, AccessRole
from plexica.errors import Forbidden, Invalid, NotFound
from plexica.tenancy.models import Membership, Team, TeamMembership

VIEWER, EDITOR, MANAGER = AccessRole.VIEWER, AccessRole.EDITOR, AccessRole.MANAGER


def noun(resource_type):
    return registry.get(resource_type).noun


def strongest(*roles):
    """The strongest of `roles` (None when there is none)."""
    present = [role for role in roles if role]
    return max(present, key=lambda role: ROLE_RANK[role]) if present else None


def _user(principal):
    return getattr(principal, "user", None)


# What the caller's standing in the organization allows


def require_org_admin(principal, doing):
    """Org-level actions (creating plugins and marketplaces...) need an org admin."""
    if not principal.is_org_admin:
        raise Forbidden(f"{doing} needs an organization admin (an owner or admin member, or an org API key).",
                        code="org_capability_required", capability="org_admin")


def require_member_capability(principal, doing):
    """Actions any person in the organization may take (creating a config object); plugin keys may not."""
    if principal.is_org_admin:
        return
    if principal.plugin is not None or principal.membership is None:
        raise Forbidden(f"{doing} needs an organization member or admin; a plugin's API key cannot do it.",
                        code="org_capability_required", capability="member")


# Grants that name the caller


def grants_for(principal, resource_type):
    """Active grants of `resource_type` that apply to the caller (none for keys without a member)."""
    membership = principal.membership
    grants = AccessGrant.objects.filter(organization=principal.organization, resource_type=resource_type,
                                        revoked_at__isnull=True)
    if membership is None:
        return grants.none()
    teams = TeamMembership.objects.filter(membership=membership).values("team_id")
    return grants.filter(Q(org_wide=True) | Q(membership=membership) | Q(team_id__in=teams))


def granted_ids(principal, resource_type):
    """A subquery of the resource ids of `resource_type` granted to the caller directly."""
    return grants_for(principal, resource_type).values("resource_id")


def _direct_role(principal, resource_type, resource_id):
    roles = grants_for(principal, resource_type).filter(resource_id=resource_id).values_list("role", flat=True)
    return strongest(*roles)


def accessible_ids(principal, resource_type):
    """A subquery of the ids of `resource_type` the caller can at least view (None: all, for org admins)."""
    if principal.is_org_admin:
        return None
    shareable = registry.get(resource_type)
    if not shareable.viewable_through:
        return granted_ids(principal, resource_type)
    visible = Q(pk__in=granted_ids(principal, resource_type))
    for viewable_ids in shareable.viewable_through:
        visible |= Q(pk__in=viewable_ids(principal))
    return shareable.model_class.objects.filter(visible, organization=principal.organization).values("pk")


def restrict(queryset, principal, resource_type, field="pk"):
    """`queryset` limited to the resources the caller can view (unchanged for org admins)."""
    ids = accessible_ids(principal, resource_type)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def ids_with_role(principal, resource_type, needed):
    """A subquery of the ids of `resource_type` the caller holds at least `needed` on (None: all, for org admins).

    Above viewer only grants count (inherited access never grants more than viewer)."""
    if principal.is_org_admin:
        return None
    if ROLE_RANK[needed] <= ROLE_RANK[VIEWER]:
        return accessible_ids(principal, resource_type)
    roles = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[needed]]
    return grants_for(principal, resource_type).filter(role__in=roles).values("resource_id")


def effective_role(principal, resource_type, resource_id):
    """The caller's role on one resource (None: no access at all)."""
    if principal.is_org_admin:
        return MANAGER
    direct = _direct_role(principal, resource_type, resource_id)
    if direct is not None or not registry.get(resource_type).viewable_through:
        return direct
    return VIEWER if accessible_ids(principal, resource_type).filter(pk=resource_id).exists() else None


def public_id(resource_type, resource_id):
    """The id the API names a resource by (a plugin's pluginId, plugin-crm; for most types its pk)."""
    shareable = registry.get(resource_type)
    if shareable.public_id_field == "pk":
        return resource_id
    rows = shareable.model_class.objects.filter(pk=resource_id)
    return rows.values_list(shareable.public_id_field, flat=True).first() or resource_id


def require_role(principal, resource_type, resource_id, needed, doing=None):
    """The caller's role on the resource if it is at least `needed`; otherwise a 403 that says what is missing.

    The 403 names the resource by its public id (see `public_id`), as every other answer does.
    """
    role = effective_role(principal, resource_type, resource_id)
    if role is not None and ROLE_RANK[role] >= ROLE_RANK[needed]:
        return role
    what, shown = noun(resource_type), public_id(resource_type, resource_id)
    doing = doing or f"This needs the {needed} role on {what} {shown}"
    have = f"you are {role}" if role else f"you have no access to this {what}"
    raise Forbidden(f"{doing}; {have}.", code="resource_access_denied", resourceType=str(resource_type),
                    resourceId=shown, requiredRole=str(needed), role=role)


# Managing grants


def _subject(organization, membership_id=None, team_id=None, org_wide=False):
    given = sum(bool(x) for x in (membership_id, team_id, org_wide))
    if given != 1:
        raise Invalid("A grant names exactly one of orgMembershipId, teamId or orgWide: true.",
                      field="orgMembershipId")
    if membership_id:
        membership = Membership.objects.filter(organization=organization, pk=membership_id).first()
        if membership is None:
            raise NotFound(f"No member {membership_id} in this organization.", title="Member not found",
                           field="orgMembershipId")
        return {"membership": membership}
    if team_id:
        team = Team.objects.filter(organization=organization, pk=team_id).first()
        if team is None:
            raise NotFound(f"No team {team_id} in this organization.", title="Team not found", field="teamId")
        return {"team": team}
    return {"org_wide": True}


def active_grants(organization, resource_type, resource_id):
    """The active grants on one resource, each annotated with `public_resource_id` (see `public_id`)."""
    shareable = registry.get(resource_type)
    if shareable.public_id_field == "pk":
        public = F("resource_id")
    else:  # grants store the resource's pk (a plugin's plg_ key); the API names it by its public id
        public = Subquery(shareable.model_class.objects.filter(pk=OuterRef("resource_id"))
                          .values(shareable.public_id_field)[:1])
    return (AccessGrant.objects.filter(organization=organization, resource_type=resource_type,
                                       resource_id=resource_id, revoked_at__isnull=True)
            .annotate(public_resource_id=public).select_related("membership__user", "team", "created_by"))


def list_grants(principal, resource_type, resource_id):
    """The active grants on one resource (see `active_grants`); the caller must manage it."""
    require_role(principal, resource_type, resource_id, MANAGER, f"Seeing who can use this {noun(resource_type)}")
    return active_grants(principal.organization, resource_type, resource_id)


def grant(principal, resource_type, resource_id, role, *, membership_id=None, team_id=None, org_wide=False,
          now=None):
    """Give a subject `role` on the resource (the caller must be its manager); (grant, created).

    Granting a subject that already has a grant changes its role; a revoked grant comes back.
    """
    if not registry.is_registered(resource_type):
        raise Invalid(f"{resource_type!r} is not a resource type that can be shared.", field="resourceType")
    require_role(principal, resource_type, resource_id, MANAGER, f"Sharing this {noun(resource_type)}")
    if role not in ROLE_RANK:
        raise Invalid(f"role must be one of viewer, editor, manager (got {role!r}).", field="role")
    subject = _subject(principal.organization, membership_id, team_id, org_wide)
    return _upsert_grant(principal, resource_type, resource_id, role, subject, now)


def _upsert_grant(principal, resource_type, resource_id, role, subject, now=None):
    organization, user = principal.organization, _user(principal)
    now = now or timezone.now()
    key = AccessGrant.subject_key_for(**subject)
    lookup = {"resource_type": resource_type, "resource_id": resource_id, "subject_key": key}
    for _ in range(2):  # a concurrent first grant of the same subject wins the insert; then we update it
        with transaction.atomic():
            row = AccessGrant.objects.select_for_update().filter(**lookup).first()
            if row is None:
                try:
                    with transaction.atomic():
                        row = AccessGrant.objects.create(organization=organization, role=role, created_by=user,
                                                         created_at=now, updated_at=now, **lookup, **subject)
                except IntegrityError:
                    continue
                emit_grant_event(principal, "access.granted", row, public_id(resource_type, resource_id),
                                 previousRole=None)
                return row, True
            previous = None if row.revoked_at is not None else row.role
            row.role, row.revoked_at, row.revoked_by, row.updated_at = role, None, None, now
            row.save(update_fields=["role", "revoked_at", "revoked_by", "updated_at"])
            if previous != role:
                emit_grant_event(principal, "access.granted", row, public_id(resource_type, resource_id),
                                 previousRole=previous)
            return row, False
    raise RuntimeError("could not insert or update the grant")


def grant_creator(principal, resource_type, resource_id):
    """The member who creates a resource becomes its manager (keys without a member need no grant).

    Admins manage everything anyway; for them the grant records who created it and survives a demotion.
    """
    if principal.membership is not None:
        _upsert_grant(principal, resource_type, resource_id, MANAGER, {"membership": principal.membership})


def revoke(principal, resource_type, resource_id, grant_id, now=None):
    """Revoke one active grant on the resource (soft: the row stays with revoked_at); the caller must manage it."""
    require_role(principal, resource_type, resource_id, MANAGER, f"Changing who can use this {noun(resource_type)}")
    with transaction.atomic():
        row = AccessGrant.objects.select_for_update().filter(
            organization=principal.organization, resource_type=resource_type, resource_id=resource_id, pk=grant_id,
            revoked_at__isnull=True,
        ).first()
        if row is None:
            raise NotFound(f"No active grant {grant_id} on this {noun(resource_type)}.", title="Grant not found")
        row.revoked_at, row.revoked_by = now or timezone.now(), _user(principal)
        AccessGrant.objects.filter(pk=row.pk).update(revoked_at=row.revoked_at, revoked_by=row.revoked_by)
        emit_grant_event(principal, "access.revoked", row, public_id(resource_type, resource_id))
