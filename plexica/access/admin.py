"""The access-grant admin, and the grants panel that shareable resources' change pages show.

Grants are made and revoked through the access service with the admin user as the principal, so the admin
refuses exactly what the API does.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize
from django.urls import NoReverseMatch
from django.utils.html import format_html, format_html_join

from plexica.access import registry
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.errors import DomainError
from plexica.tenancy.admin import OrganizationScopedAdmin, admin_principal, admin_url


def grants_panel(resource_type, obj):
    """The active grants on `obj`, a resource of `resource_type`, as a table with a link to add one (prefilled)
    and one to all of them, revoked ones too."""
    grants = access.active_grants(obj.organization_id, resource_type, obj.pk).order_by("created_at")
    target = {"resource_type": resource_type, "resource_id": obj.pk}
    add_url = admin_url("access_accessgrant_add", query={"organization": obj.organization_id, **target})
    all_url = admin_url("access_accessgrant_changelist", query=target)
    rows = format_html_join("", "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (admin_url("access_accessgrant_change", grant.pk), grant.subject_label,
         grant.get_role_display(), grant.created_by or "-", grant.created_at.strftime("%Y-%m-%d %H:%M"))
        for grant in grants
    ))
    table = format_html(
        "<table><thead><tr><th>who</th><th>role</th><th>granted by</th><th>since</th></tr></thead>"
        "<tbody>{}</tbody></table>", rows) if rows else "No active grants: only org admins have access."
    return format_html("{}<p><a class=\"addlink\" href=\"{}\">Add a grant</a> &middot; "
                       "<a href=\"{}\">All grants, revoked ones too</a></p>", table, add_url, all_url)


class AccessGrantsDisplayMixin:
    """Adds a read-only "access grants" table (active grants, a link to add one prefilled) to change pages."""

    grant_resource_type = None

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return [*fields, "access_grants"] if obj is not None and "access_grants" not in fields else fields

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "access_grants"]

    @admin.display(description="access grants")
    def access_grants(self, obj):
        return grants_panel(self.grant_resource_type, obj)


class AccessGrantForm(forms.ModelForm):
    class Meta:
        model = AccessGrant
        fields = ["organization", "resource_type", "resource_id", "membership", "team", "org_wide", "role"]
        help_texts = {
            "membership": "Grant to one member, or",
            "team": "to one team, or",
            "org_wide": "to everyone in the organization (choose exactly one).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "resource_id" in self.fields:
            self.fields["resource_id"].help_text = ", ".join(t.id_help for t in registry.all_types()) + "."

    def _get_validation_exclusions(self):
        # clean() checks "exactly one subject" readably; the model's check constraint would repeat it.
        return {*super()._get_validation_exclusions(), "membership", "team", "org_wide"}

    def clean(self):
        data = super().clean()
        if not self.instance._state.adding:
            return data  # only the role changes after creation
        if sum(bool(data.get(name)) for name in ("membership", "team", "org_wide")) != 1:
            raise ValidationError("Choose exactly one subject: a member, a team, or the whole organization.")
        organization = data.get("organization")
        if organization is None:
            return data
        resource_type, resource_id = data.get("resource_type"), (data.get("resource_id") or "").strip()
        if resource_type and resource_id:
            shareable = registry.get(resource_type)
            resource = shareable.find(organization, resource_id)
            if resource is None:
                self.add_error("resource_id", f"No {shareable.noun} {resource_id} in {organization}.")
            else:
                data["resource_id"] = resource.pk
        return data


class GrantStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(AccessGrant)
class AccessGrantAdmin(OrganizationScopedAdmin):
    """Who may use which config object, plugin, marketplace or connector instance, with which role.

    Grants are made and changed through the access service (re-granting a subject changes its role and
    brings a revoked grant back); revocation is soft and grants are never deleted.
    """

    form = AccessGrantForm
    add_fields = ["organization", "resource_type", "resource_id", "membership", "team", "org_wide", "role"]
    change_fields = ["id", "organization", "resource_type", "resource_id", "resource_link", "subject", "role",
                     "created_by", "created_at", "updated_at", "revoked_at", "revoked_by"]
    list_display = ["resource_type", "resource_link", "subject", "role", "state", "organization",
                    "created_at", "revoked_at"]
    list_filter = ["resource_type", "role", GrantStateFilter, "organization"]
    list_select_related = ["organization", "membership__user", "team"]
    search_fields = ["resource_id", "membership__user__username", "team__slug", "team__name"]
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [name for name in self.change_fields if name != "role"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.revoked_at is not None:
            return False  # shown read-only; a revoked grant comes back by adding the same grant again
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revocation is soft: the revoke action

    def save_model(self, request, obj, form, change):
        grant, _created = access.grant(
            admin_principal(request, obj.organization), obj.resource_type, obj.resource_id, obj.role,
            membership_id=obj.membership_id, team_id=obj.team_id, org_wide=obj.org_wide,
        )
        # The service may have reactivated this subject's existing row: the admin continues with that one.
        obj.pk = grant.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.action(description="Revoke selected grants (soft: they stay listed as revoked)",
                  permissions=["change"])
    def revoke_selected(self, request, queryset):
        done, skipped = 0, 0
        for grant in queryset.select_related("organization"):
            if grant.revoked_at is not None:
                skipped += 1
                continue
            try:
                access.revoke(admin_principal(request, grant.organization), grant.resource_type,
                              grant.resource_id, grant.pk)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{grant}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, f"Revoked {done} grant{pluralize(done)}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} grant{pluralize(skipped)} already revoked.", messages.INFO)

    @admin.display(description="resource", ordering="resource_id")
    def resource_link(self, grant):
        try:
            url = admin_url(registry.get(grant.resource_type).admin_url_name, grant.resource_id)
            return format_html("<a href=\"{}\">{}</a>", url, grant.resource_id)
        except (LookupError, NoReverseMatch):
            return grant.resource_id

    @admin.display(description="granted to")
    def subject(self, grant):
        return grant.subject_label

    @admin.display(description="state")
    def state(self, grant):
        return "Active" if grant.revoked_at is None else "Revoked"
