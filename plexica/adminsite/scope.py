"""Which organizations the admin pages show: the one picked with the switcher, or all the user's."""

from dataclasses import dataclass

from plexica.tenancy.models import Organization
from plexica.tenancy.services import admin_organization_ids

CURRENT_ORGANIZATION_SESSION_KEY = "plexica_admin_organization"


def switchable_organizations(user):
    """The organizations `user` may work in from the admin: every one for a superuser, else where they are
    owner or admin."""
    if not (user.is_active and user.is_staff):
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.order_by("name")
    return Organization.objects.filter(pk__in=admin_organization_ids(user)).order_by("name")


def current_organization(request):
    """The organization the admin pages are scoped to (cached per request), or None for "all of mine".

    It is the one chosen with the organization switcher (kept in the session) while the user may still work
    there, else the only organization the user administers. A superuser who chose none sees every one.
    """
    if "_plexica_current_organization" not in request.__dict__:
        user = request.user
        chosen = request.session.get(CURRENT_ORGANIZATION_SESSION_KEY) if hasattr(request, "session") else None
        organization = None
        if user.is_active and user.is_staff:
            organizations = switchable_organizations(user)
            if chosen:
                organization = organizations.filter(pk=chosen).first()
            if organization is None and not user.is_superuser:
                only = list(organizations[:2])
                organization = only[0] if len(only) == 1 else None
        request._plexica_current_organization = organization
    return request._plexica_current_organization


def switch_organization(request, organization_id):
    """Scope the admin to `organization_id` ("" for all of the user's); False if the user may not work there."""
    if not organization_id:
        request.session.pop(CURRENT_ORGANIZATION_SESSION_KEY, None)
    elif switchable_organizations(request.user).filter(pk=organization_id).exists():
        request.session[CURRENT_ORGANIZATION_SESSION_KEY] = organization_id
    else:
        return False
    request.__dict__.pop("_plexica_current_organization", None)
    request.__dict__.pop("_plexica_admin_org_ids", None)
    return True


def admin_scope_ids(request):
    """Ids of the organizations the admin pages show now: the current one, else all the user administers;
    None for a superuser who chose no organization (every one)."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return frozenset()
    # Cached per request: the index asks every registered admin for its permissions.
    if "_plexica_admin_org_ids" not in request.__dict__:
        current = current_organization(request)
        if current is not None:
            ids = frozenset([current.pk])
        elif user.is_superuser:
            ids = None
        else:
            ids = frozenset(admin_organization_ids(user))
        request._plexica_admin_org_ids = ids
    return request._plexica_admin_org_ids


@dataclass(frozen=True)
class Scope:
    """What a dashboard or search page shows: `organization_ids` (None: every organization, for a superuser
    who chose none) and `organization`, the current one if there is one."""

    organization_ids: frozenset | None
    organization: object = None

    def filter(self, queryset, lookup="organization"):
        """`queryset` limited to the organizations in view."""
        if self.organization_ids is None:
            return queryset
        return queryset.filter(**{f"{lookup}__in": self.organization_ids})


def page_scope(request):
    """The Scope of an admin page: the organizations the user sees there now."""
    return Scope(organization_ids=admin_scope_ids(request), organization=current_organization(request))
