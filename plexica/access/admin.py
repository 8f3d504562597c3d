"""The access-grant admin, and the grants panel that shareable resources' change pages show.

Grants are made and revoked through the access service with the admin user as the principal, so the admin
refuses exactly what the API does.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.template.defaultfilters import pluralize
from django.urls import NoReverseMatch, path
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeData, mark_safe
from unfold.widgets import UnfoldAdminAutocompleteWidget

from plexica.access import registry
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.adminsite.badges import badge, status_badge
from plexica.errors import DomainError
from plexica.tenancy.admin import OrganizationScopedAdmin, admin_principal, admin_url, person_name

GRANTS_SHOWN = 50
_HOW = {"member": "direct grant to the member", "team": "grant to the team (its members)",
        "org": "organization-wide grant (everyone in the organization)"}


def grants_panel(resource_type, obj, inherited=()):
    """Who has access to `obj`, a resource of `resource_type`: its active grants (each with how it applies:
    member, team, organization-wide), then `inherited`, the callers who view it without a grant on it (rows with
    .subject, .role, .through, .url, .kind: "viewer through marketplace Sales tools"), then the org admins; with a
    link to add a grant (prefilled) and one to all of them, revoked ones too."""
    grants = (access.active_grants(obj.organization_id, resource_type, obj.pk)
              .select_related("team__organization").order_by("created_at"))
    shown = list(grants[:GRANTS_SHOWN])
    total = grants.count()
    target = {"resource_type": resource_type, "resource_id": obj.pk}
    add_url = admin_url("access_accessgrant_add", query={"organization": obj.organization_id, **target})
    all_url = admin_url("access_accessgrant_changelist", query=target)
    rows = [
        (format_html('<a href="{}">{}</a>', admin_url("access_accessgrant_change", grant.pk), grant.subject_label),
         status_badge(grant.role, grant.get_role_display()),
         _HOW["org" if grant.org_wide else "team" if grant.team_id else "member"],
         format_html("by {} since {}", grant.created_by or "-", grant.created_at.strftime("%Y-%m-%d %H:%M")))
        for grant in shown
    ]
    rows += [
        (row.subject, status_badge(row.role, str(row.role).capitalize()),
         format_html('{} through <a href="{}">{}</a>', row.kind, row.url, row.through) if row.url
         else format_html("{} through {}", row.kind, row.through), "")
        for row in inherited
    ]
    if not rows:
        return format_html('<p class="plexica-subtle" id="access-none">No active grants: only org admins have access.'
                           '</p><p><a class="addlink" href="{}">Add a grant</a> &middot; '
                           '<a href="{}">All grants, revoked ones too</a></p>', add_url, all_url)
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
    more = format_html('<p class="plexica-subtle">Showing {} of {} grants: <a href="{}">see all</a>.</p>',
                       len(shown), total, all_url) if total > len(shown) else ""
    return format_html(
        '<div class="plexica-scroll"><table class="plexica-table" id="access-effective"><thead><tr><th>who</th>'
        "<th>role</th><th>how</th><th></th></tr></thead><tbody>{}<tr class=\"access-admins\"><td>org owners and "
        "admins, org API keys</td><td>{}</td><td>their standing in the organization</td><td></td></tr></tbody>"
        "</table></div>{}<p><a class=\"addlink\" href=\"{}\">Add a grant</a> &middot; "
        "<a href=\"{}\">All grants, revoked ones too</a></p>", body, status_badge("manager", "Manager"), more,
        add_url, all_url)


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


RESOURCE_CHOICES_PER_TYPE = 20


def resource_value(resource_type, resource_id):
    """The chooser's value of one resource: "plugin:plg_..."."""
    return f"{resource_type}:{resource_id}"


def parse_resource_value(value):
    """(resource type, resource id) of a chooser value; LookupError when the type is not a shareable one."""
    resource_type, _, resource_id = (value or "").partition(":")
    registry.get(resource_type)
    return resource_type, resource_id


def resource_names(pairs):
    """{(resource type, pk): "CRM (plugin-crm)"} for (type, pk) pairs: one query per resource type."""
    wanted = {}
    for resource_type, resource_id in pairs:
        wanted.setdefault(resource_type, set()).add(resource_id)
    names = {}
    for resource_type, ids in wanted.items():
        try:
            shareable = registry.get(resource_type)
        except LookupError:
            continue
        for resource in shareable.model_class.objects.filter(pk__in=ids):
            names[(resource_type, resource.pk)] = shareable.label_of(resource)
    return names


class ResourceChooser(UnfoldAdminAutocompleteWidget):
    """One autocomplete over every shareable resource type, grouped by type, values "type:pk"."""

    option_template_name = "django/forms/widgets/select_option.html"  # unfold's renders model choices only

    def __init__(self, url, attrs=None):
        super().__init__({"data-ajax--url": url, **(attrs or {})})
        self.attrs["data-placeholder"] = "Type the name of a plugin, config object, marketplace or connector instance"


class AccessGrantForm(forms.ModelForm):
    resource = forms.CharField(
        label="Resource", help_text="What is shared: start typing its name (a plugin, config object, marketplace or "
        "connector instance of the organization).")

    class Meta:
        model = AccessGrant
        fields = ["organization", "resource", "membership", "team", "org_wide", "role"]
        labels = {"membership": "Member"}
        help_texts = {
            "membership": "Grant to one member (type their name), or",
            "team": "to one team (type its name), or",
            "org_wide": "to everyone in the organization (choose exactly one).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields.pop("resource", None)  # only the role changes after creation
        if "resource" not in self.fields:
            return
        initial = self.initial
        typed = self.is_bound and not self.data.get(self.add_prefix("resource"))
        if typed and self.data.get("resource_type") and self.data.get("resource_id"):
            # A post naming the resource by type and id (scripts, the old form) picks the same resource.
            self.data = self.data.copy()
            self.data[self.add_prefix("resource")] = resource_value(self.data["resource_type"],
                                                                    self.data["resource_id"].strip())
        if not initial.get("resource") and initial.get("resource_type") and initial.get("resource_id"):
            initial["resource"] = resource_value(initial["resource_type"], initial["resource_id"])
        value = self.data.get(self.add_prefix("resource")) if self.is_bound else initial.get("resource")
        field = self.fields["resource"]
        field.widget = ResourceChooser(admin_url("access_accessgrant_resources"), attrs={"id": "id_resource"})
        field.widget.is_required = True
        choices = [("", "")]
        if value:
            try:
                pair = parse_resource_value(value)
            except LookupError:
                pair = None
            if pair is not None:
                label = resource_names([pair]).get(pair)
                if label:
                    choices.append((value, f"{registry.get(pair[0]).noun.capitalize()}: {label}"))
        field.widget.choices = choices
        self.fields["resource"].error_messages["required"] = "Choose what is shared: type its name and pick it."

    def _get_validation_exclusions(self):
        # clean() checks "exactly one subject" readably; the model's check constraint would repeat it.
        return {*super()._get_validation_exclusions(), "membership", "team", "org_wide"}

    def clean(self):
        data = super().clean()
        if not self.instance._state.adding:
            return data  # only the role changes after creation
        if sum(bool(data.get(name)) for name in ("membership", "team", "org_wide")) != 1:
            raise ValidationError("Choose exactly one subject: a member, a team, or the whole organization.")
        organization, value = data.get("organization"), data.get("resource")
        if organization is None or not value:
            return data
        try:
            resource_type, resource_id = parse_resource_value(value)
        except LookupError:
            self.add_error("resource", "Choose a resource from the list.")
            return data
        shareable = registry.get(resource_type)
        resource = shareable.find(organization, resource_id)
        if resource is None:
            self.add_error("resource", f"This {shareable.noun} is not one of {organization.name}'s (or was deleted).")
            return data
        self.instance.resource_type, self.instance.resource_id = resource_type, resource.pk
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


class GrantChangeList(ChangeList):
    """Names each listed grant's resource with one query per resource type."""

    def get_results(self, request):
        super().get_results(request)
        names = resource_names((grant.resource_type, grant.resource_id) for grant in self.result_list)
        for grant in self.result_list:
            grant.resource_name = names.get((grant.resource_type, grant.resource_id))


def subject_name(grant):
    """Who a grant names, by name: "Mia Lee (mia)", "Team Sales", "Everyone in Acme Corp"."""
    if grant.org_wide:
        return f"Everyone in {grant.organization.name}"
    if grant.team_id:
        return f"Team {grant.team.name}"
    if grant.membership_id:
        return person_name(grant.membership.user)
    return "nobody"


@admin.register(AccessGrant)
class AccessGrantAdmin(OrganizationScopedAdmin):
    """Who may use which config object, plugin, marketplace or connector instance, with which role.

    Grants are made and changed through the access service (re-granting a subject changes its role and
    brings a revoked grant back); revocation is soft and grants are never deleted. The resource is picked by
    name with one autocomplete over every registered resource type, limited to the admin's organizations.
    """

    form = AccessGrantForm
    add_fields = ["organization", "resource", "membership", "team", "org_wide", "role"]
    change_fields = ["organization", "resource_kind", "resource_link", "subject", "role", "state",
                     "created_by_name", "created_at", "updated_at", "revoked_at", "revoked_by_name", "id"]
    list_display = ["resource_link", "resource_kind", "subject", "role_badge", "state", "organization",
                    "created_at"]
    list_filter = ["resource_type", "role", GrantStateFilter, "organization"]
    list_select_related = ["organization", "membership__user", "team"]
    search_fields = ["membership__user__username", "membership__user__first_name", "membership__user__last_name",
                     "team__slug", "team__name"]
    autocomplete_fields = ["membership", "team"]
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.resource_choices_view)
        return [path("resources/", view, name="access_accessgrant_resources"), *super().get_urls()]

    def get_changelist(self, request, **kwargs):
        return GrantChangeList

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "membership__user", "team")

    def get_search_results(self, request, queryset, search_term):
        """Also finds grants by their resource's name, through each resource type's own admin search."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term:
            return found, duplicates
        by_resource = Q()
        for shareable in registry.all_types():
            resources = self.resources_matching(request, shareable, search_term)
            if resources is not None:
                by_resource |= Q(resource_type=shareable.key, resource_id__in=resources.values("pk"))
        if by_resource:
            found = found | queryset.filter(by_resource)
        return found, True

    def resources_matching(self, request, shareable, term):
        """The live resources of `shareable` the user may see in the admin, found by `term` (None: no admin)."""
        model_admin = self.admin_site._registry.get(shareable.model_class)
        if model_admin is None or not model_admin.has_view_permission(request):
            return None
        resources = shareable.live(model_admin.get_queryset(request))
        if term:
            resources, _ = model_admin.get_search_results(request, resources, term)
        return resources

    def resource_choices_view(self, request):
        """The resource chooser's answers (select2's format), grouped by resource type."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        term = (request.GET.get("term") or request.GET.get("q") or "").strip()[:100]
        several = self.several_organizations_in_view(request)
        groups = []
        for shareable in registry.all_types():
            resources = self.resources_matching(request, shareable, term)
            if resources is None:
                continue
            rows = list(resources.select_related("organization").order_by(*self._name_order(shareable))
                        [:RESOURCE_CHOICES_PER_TYPE])
            children = [{"id": resource_value(shareable.key, row.pk),
                         "text": shareable.label_of(row) + (f" — {row.organization.name}" if several else "")}
                        for row in rows]
            if children:
                groups.append({"text": f"{shareable.noun.capitalize()}s", "children": children})
        return JsonResponse({"results": groups, "pagination": {"more": False}})

    @staticmethod
    def _name_order(shareable):
        names = {f.name for f in shareable.model_class._meta.get_fields()}
        return [name for name in ("name", "title") if name in names][:1] + ["pk"]

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

    def message_user(self, request, message, *args, **kwargs):
        # The stock "The access grant “…” was added" names the resource by its stored pk: name it instead.
        obj = getattr(request, "_plexica_grant_shown", None)
        if obj is not None and isinstance(message, SafeData):
            message = mark_safe(str(message).replace(escape(str(obj)), escape(self.describe(obj))))
        elif obj is not None:
            message = str(message).replace(str(obj), self.describe(obj))
        return super().message_user(request, message, *args, **kwargs)

    def response_add(self, request, obj, post_url_continue=None):
        request._plexica_grant_shown = obj
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        request._plexica_grant_shown = obj
        return super().response_change(request, obj)

    def describe(self, grant):
        """ "Viewer on plugin CRM (plugin-crm) for Team Sales"."""
        name = self.resource_label(grant)
        return f"{grant.get_role_display()} on {registry.get(grant.resource_type).noun} {name} for {subject_name(grant)}"

    def resource_label(self, grant):
        if not hasattr(grant, "resource_name"):
            grant.resource_name = resource_names([(grant.resource_type, grant.resource_id)]).get(
                (grant.resource_type, grant.resource_id))
        return grant.resource_name or "(deleted)"

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
                self.message_user(request, f"{self.describe(grant)}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, f"Revoked {done} grant{pluralize(done)}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} grant{pluralize(skipped)} already revoked.", messages.INFO)

    @admin.display(description="resource", ordering="resource_id")
    def resource_link(self, grant):
        label = self.resource_label(grant)
        try:
            url = admin_url(registry.get(grant.resource_type).admin_url_name, grant.resource_id)
        except (LookupError, NoReverseMatch):
            return label
        return format_html("<a href=\"{}\">{}</a>", url, label)

    @admin.display(description="type", ordering="resource_type")
    def resource_kind(self, grant):
        try:
            return registry.get(grant.resource_type).noun.capitalize()
        except LookupError:
            return grant.resource_type

    @admin.display(description="granted to")
    def subject(self, grant):
        return subject_name(grant)

    @admin.display(description="role", ordering="role")
    def role_badge(self, grant):
        return badge(grant.get_role_display(), ROLE_TONES.get(grant.role, "grey"))

    @admin.display(description="state")
    def state(self, grant):
        return status_badge("active") if grant.revoked_at is None else status_badge("revoked")

    @admin.display(description="granted by")
    def created_by_name(self, grant):
        return person_name(grant.created_by) if grant.created_by_id else "-"

    @admin.display(description="revoked by")
    def revoked_by_name(self, grant):
        return person_name(grant.revoked_by) if grant.revoked_by_id else "-"


ROLE_TONES = {"viewer": "grey", "editor": "blue", "manager": "green"}
