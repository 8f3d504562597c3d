"""Admin of the tenancy models, and the organization-scoped base that every org-scoped admin builds on."""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path, quote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from unfold.admin import ModelAdmin as ThemedModelAdmin
from unfold.admin import TabularInline as ThemedTabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from plexica.adminsite.badges import badge, status_badge
from plexica.adminsite.display import person_name
from plexica.adminsite.scope import admin_scope_ids
from plexica.errors import DomainError
from plexica.ids import PLUGIN_ID_PATTERN
from plexica.tenancy.models import (
    ApiKey,
    Membership,
    Organization,
    Team,
    TeamMembership,
    is_plugin_routes_scope,
    plugin_routes_scope,
)
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, admin_organization_ids, create_api_key, revoke_api_key


def admin_url(name, *args, query=None):
    """The URL of admin view `name` ("app_model_change"...); pks are quoted as the admin's own links do."""
    url = reverse(f"{admin.site.name}:{name}", args=[quote(arg) for arg in args])
    return f"{url}?{urlencode(query)}" if query else url


def short_time(value, empty="never"):
    """A timestamp in the admin's narrow columns: "2026-12-02 14:05" (local time)."""
    if not value:
        return empty
    return format_html('<span class="plexica-nowrap">{}</span>', timezone.localtime(value).strftime("%Y-%m-%d %H:%M"))


def organization_lookup(model):
    """The lookup from `model` to its organization ("pk", "organization"), or None if it is not org-scoped."""
    if model is Organization:
        return "pk"
    try:
        field = model._meta.get_field("organization")
    except FieldDoesNotExist:
        return None
    return "organization" if field.is_relation and field.related_model is Organization else None


def foreign_organization_errors(organization_id, cleaned_data, fields):
    """{field: message} for each picked row of `fields` that belongs to another organization than
    `organization_id`: an admin of two organizations is offered rows of both, and must not mix them."""
    errors = {}
    for name in fields:
        related = cleaned_data.get(name)
        related_org = getattr(related, "organization_id", None)
        if organization_id and related_org and related_org != organization_id:
            errors[name] = "This one belongs to another organization than the row; pick one of the same organization."
    return errors


class SameOrganizationForm(forms.ModelForm):
    """Refuses a pick (account, plugin, member...) of another organization than the row's own."""

    def _post_clean(self):
        super()._post_clean()  # after the model's own clean(), whose messages come first where it has them
        cleaned = self.cleaned_data
        organization = cleaned.get("organization") if "organization" in self.fields else None
        organization_id = getattr(organization, "pk", None) or getattr(self.instance, "organization_id", None)
        related = [name for name, field in self.fields.items() if name != "organization"
                   and name not in self.errors and isinstance(field, forms.ModelChoiceField)]
        for name, message in foreign_organization_errors(organization_id, cleaned, related).items():
            self.add_error(name, message)


def admin_principal(request, organization):
    """The admin user acting in `organization`, as the services' Principal (cached per request).

    Staff reach a row only through an owner or admin membership of its organization, so the principal is an
    org admin there; a superuser without a membership acts as one too.
    """
    cache = request.__dict__.setdefault("_plexica_admin_principals", {})
    organization_id = getattr(organization, "pk", organization)
    if organization_id not in cache:
        if not isinstance(organization, Organization):
            organization = Organization.objects.get(pk=organization_id)
        membership = Membership.objects.filter(organization=organization, user=request.user).first()
        cache[organization_id] = Principal(organization=organization, membership=membership,
                                           user=request.user, is_superuser=request.user.is_superuser)
    return cache[organization_id]


def apply_to_selected(model_admin, request, queryset, change, verb, noun):
    """An admin action: run `change(principal, pk)` on each selected row as the admin user in the row's
    organization; one message for what was done, one per row refused (with the rule's own words)."""
    done, refused = 0, []
    for obj in queryset.select_related("organization"):
        try:
            change(admin_principal(request, obj.organization), obj.pk)
            done += 1
        except DomainError as exc:
            refused.append(f"{obj}: {exc.message}")
    if done:
        model_admin.message_user(request, f"{verb} {done} {noun}{pluralize(done)}.", messages.SUCCESS)
    for reason in refused:
        model_admin.message_user(request, reason, messages.WARNING)


class OrganizationScopeMixin:
    """Superusers who chose no organization see everything; everyone else sees the current organization
    (the switcher's), or all the organizations where they are owner or admin."""

    def sees_everything(self, request):
        return request.user.is_active and request.user.is_superuser and admin_scope_ids(request) is None

    def admin_org_ids(self, request):
        ids = admin_scope_ids(request)
        return frozenset(admin_organization_ids(request.user)) if ids is None else ids

    def several_organizations_in_view(self, request):
        """True when the page may show rows of more than one organization (then lists name the organization)."""
        ids = admin_scope_ids(request)
        return ids is None or len(ids) > 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return self.limit_choices(super().formfield_for_foreignkey(db_field, request, **kwargs), request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return self.limit_choices(super().formfield_for_manytomany(db_field, request, **kwargs), request)

    def limit_choices(self, formfield, request):
        """Offer only rows of the user's organizations when the field's target is org-scoped."""
        if formfield is None or self.sees_everything(request):
            return formfield
        lookup = organization_lookup(formfield.queryset.model)
        if lookup is not None:
            formfield.queryset = formfield.queryset.filter(**{f"{lookup}__in": self.admin_org_ids(request)})
        return formfield


class OrganizationScopedAdmin(OrganizationScopeMixin, ThemedModelAdmin):
    """A ModelAdmin that shows staff who are not superusers only the rows of organizations they administer.

    `organization_field` is the lookup from the model to its Organization: "organization",
    "team__organization", or "pk" for Organization itself. Access comes from an owner or admin
    membership, not from Django model permissions. Related-field list filters only offer values in view,
    and a saved row keeps its organization.
    """

    organization_field = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.sees_everything(request):
            return queryset
        return queryset.filter(**{f"{self.organization_field}__in": self.admin_org_ids(request)})

    def organization_id_of(self, obj):
        *path, last = self.organization_field.split("__")
        for name in path:
            obj = getattr(obj, name, None)
            if obj is None:
                return None
        return obj.pk if last == "pk" else getattr(obj, obj._meta.get_field(last).attname)

    def may_manage(self, request, obj=None):
        org_ids = self.admin_org_ids(request)
        return bool(org_ids) and (obj is None or self.organization_id_of(obj) in org_ids)

    def has_module_permission(self, request):
        if self.sees_everything(request):
            return super().has_module_permission(request)
        return self.may_manage(request)

    def has_view_permission(self, request, obj=None):
        if self.sees_everything(request):
            return super().has_view_permission(request, obj)
        return self.may_manage(request, obj)

    def has_add_permission(self, request):
        if self.sees_everything(request):
            return super().has_add_permission(request)
        return self.may_manage(request)

    def has_change_permission(self, request, obj=None):
        if self.sees_everything(request):
            return super().has_change_permission(request, obj)
        return self.may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self.sees_everything(request):
            return super().has_delete_permission(request, obj)
        return self.may_manage(request, obj)

    def direct_organization_field(self):
        """The name of the model's own organization field, if it has one."""
        name = self.organization_field
        return None if "__" in name or name == "pk" else name

    def get_form(self, request, obj=None, change=False, **kwargs):
        if not issubclass(kwargs.get("form", self.form), SameOrganizationForm):
            kwargs["form"] = type("SameOrganization" + self.form.__name__, (SameOrganizationForm, self.form), {})
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get(self.direct_organization_field())
        if obj is not None and field is not None:
            # Disabled rather than read-only, so per-organization unique constraints are still validated.
            field.disabled = True
        return form

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        org_ids = self.admin_org_ids(request)
        field = self.direct_organization_field()
        if field and len(org_ids) == 1 and not self.sees_everything(request):
            initial.setdefault(field, next(iter(org_ids)))
        return initial

    def get_list_filter(self, request):
        # A plain related-field filter would list every organization's rows; offer only values in view.
        return [self._related_only(spec) for spec in super().get_list_filter(request)]

    def _related_only(self, spec):
        if isinstance(spec, str) and get_fields_from_path(self.model, spec)[-1].is_relation:
            return (spec, admin.RelatedOnlyFieldListFilter)
        return spec


class OrganizationScopedInline(OrganizationScopeMixin, ThemedTabularInline):
    """An inline of an OrganizationScopedAdmin: the parent admin guards the object, the inline its choices."""

    def _allowed(self, request, obj=None, default=None):
        return default(request, obj) if self.sees_everything(request) else bool(self.admin_org_ids(request))

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj, super().has_view_permission)

    def has_add_permission(self, request, obj):
        return self._allowed(request, obj, super().has_add_permission)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, super().has_change_permission)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, super().has_delete_permission)


class ReadOnlyOrganizationScopedInline(OrganizationScopedInline):
    """A record shown on its parent's page that nobody adds, changes or deletes there (history, snapshots)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


ROLE_TONES = {"owner": "green", "admin": "blue", "member": "grey"}


def role_badge(membership):
    return badge(membership.get_role_display(), ROLE_TONES.get(membership.role, "grey"))


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    """Organizations. Their admins rename them; only superusers create, delete, re-slug or suspend them."""

    organization_field = "pk"
    fields = ["name", "slug", "status", "created_at", "id"]
    readonly_fields = ["id", "created_at"]
    list_display = ["name", "slug", "status_badge", "member_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["slug", "name"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("memberships", distinct=True))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if self.sees_everything(request) else readonly + ["slug", "status"]

    def has_add_permission(self, request):
        return self.sees_everything(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.sees_everything(request) and super().has_delete_permission(request, obj)

    @admin.display(description="status", ordering="status")
    def status_badge(self, organization):
        return status_badge(organization.status)

    @admin.display(description="members", ordering="member_total")
    def member_count(self, organization):
        return organization.member_total


@admin.register(Team)
class TeamAdmin(OrganizationScopedAdmin):
    """Teams: groups of members inside one organization."""

    fields = ["organization", "name", "slug", "created_at", "id"]
    readonly_fields = ["id", "created_at"]
    list_display = ["name", "slug", "member_count", "organization", "created_at"]
    ordering = ["name", "slug"]
    list_filter = ["organization"]
    list_select_related = ["organization"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request):
        # The autocomplete of every team picker lists these; their names include the organization's.
        return super().get_queryset(request).select_related("organization").annotate(
            member_total=Count("team_memberships", distinct=True))

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    @admin.display(description="members", ordering="member_total")
    def member_count(self, team):
        return team.member_total


class TeamMembershipInline(OrganizationScopedInline):
    model = TeamMembership
    fields = ["team", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["team"]
    extra = 0
    verbose_name_plural = "teams"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("team__organization")


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    """Who belongs to which organization, with which role, in which teams.

    Memberships are made and their roles changed through tenancy's add_member (adding someone already there
    changes their role), the role checked by the same rule as the management commands'.
    """

    fields = ["organization", "user", "role", "created_at", "id"]
    readonly_fields = ["id", "created_at"]
    list_display = ["person", "role_badge", "team_names", "organization", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    inlines = [TeamMembershipInline]

    def get_queryset(self, request):
        # Also what the member autocompletes list: their labels name the person and the organization.
        return super().get_queryset(request).select_related("user", "organization")

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    def get_changelist(self, request, **kwargs):
        return MembershipChangeList

    autocomplete_fields = ["user"]

    def people(self, request):
        """Whom the user may make a member: anyone for a superuser, else people already in one of the
        organizations they administer."""
        User = get_user_model()
        if self.sees_everything(request):
            return User.objects.order_by(User.USERNAME_FIELD)
        return (User.objects.filter(memberships__organization__in=self.admin_org_ids(request))
                .distinct().order_by(User.USERNAME_FIELD))

    def autocomplete_queryset(self, request, field_name):
        """The person picker's choices (PlexicaAdminSite's autocomplete): org admins may not browse users."""
        if field_name == "user" and self.has_add_permission(request):
            return self.people(request)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = self.people(request)
            if not self.sees_everything(request):
                kwargs["help_text"] = (
                    "Only people who already belong to one of your organizations are offered; "
                    "ask a superuser to add someone new."
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # A membership is one person's (add a new one instead); shown as text, not a select of everyone.
        return readonly if obj is None else [*readonly, "person"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if obj is None else ["person" if name == "user" else name for name in fields]

    def save_model(self, request, obj, form, change):
        # Adding and changing the role both go through add_member (its role check), as the commands do.
        membership, _created = add_member(obj.organization, obj.user, obj.role)
        obj.pk = membership.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.display(description="member", ordering="user__username")
    def person(self, membership):
        return person_name(membership.user)

    @admin.display(description="role", ordering="role")
    def role_badge(self, membership):
        return role_badge(membership)

    @admin.display(description="teams")
    def team_names(self, membership):
        names = getattr(membership, "listed_team_names", None)
        if names is None:
            names = [team.name for team in membership.teams.all()]
        return ", ".join(names) or "-"


class MembershipChangeList(ChangeList):
    """Lists each member's teams with one query for the whole page."""

    def get_results(self, request):
        super().get_results(request)
        teams = {}
        rows = TeamMembership.objects.filter(membership__in=[m.pk for m in self.result_list])
        for membership_id, name in rows.order_by("team__name").values_list("membership_id", "team__name"):
            teams.setdefault(membership_id, []).append(name)
        for membership in self.result_list:
            membership.listed_team_names = teams.get(membership.pk, [])


@admin.register(TeamMembership)
class TeamMembershipAdmin(OrganizationScopedAdmin):
    """A member's place in a team (the team and the membership must share an organization)."""

    organization_field = "team__organization"
    fields = ["team", "membership", "created_at"]
    readonly_fields = ["created_at"]
    list_display = ["person", "team_name", "organization_name", "created_at"]
    list_filter = ["team__organization"]  # a filter listing every team would not scale: search by team name
    list_select_related = ["team__organization", "membership__user", "membership__organization"]
    search_fields = ["membership__user__username", "membership__user__first_name", "membership__user__last_name",
                     "team__slug", "team__name"]
    autocomplete_fields = ["team", "membership"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("team__organization", "membership__user",
                                                            "membership__organization")

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [
            n for n in shown if n != "organization_name"]

    @admin.display(description="member", ordering="membership__user__username")
    def person(self, team_membership):
        return person_name(team_membership.membership.user)

    @admin.display(description="team", ordering="team__name")
    def team_name(self, team_membership):
        return team_membership.team.name

    @admin.display(description="organization", ordering="team__organization__name")
    def organization_name(self, team_membership):
        return team_membership.team.organization.name


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave all unticked (and the next field empty) for every scope the key's principal may use.",
    )
    calls_only = forms.CharField(
        label="May call only", required=False, max_length=2000,
        help_text="Plugin ids separated by commas or spaces (plugin-crm, plugin-billing): the key's gateway calls "
                  "may reach only these plugins, through its ext:{pluginId}:routes scopes. Empty: any plugin.",
    )

    class Meta:
        model = ApiKey
        fields = ["organization", "name", "plugin", "membership", "scopes", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = list(self.instance.scopes or []) if self.instance is not None else []
        if "scopes" in self.fields:
            self.initial["scopes"] = [scope for scope in current if scope in ApiKey.Scope.values]
        if "calls_only" in self.fields:
            self.initial["calls_only"] = ", ".join(s[4:-7] for s in current if is_plugin_routes_scope(s))

    def clean(self):
        cleaned = super().clean()
        if "calls_only" in self.fields:
            names = [n for n in re.split(r"[\s,]+", cleaned.get("calls_only") or "") if n]
            bad = [n for n in names if not re.fullmatch(PLUGIN_ID_PATTERN.strip("^$"), n) or len(n) > 100]
            if bad:
                self.add_error("calls_only", f"Not a plugin id: {', '.join(bad[:5])} (plugin-{{name}}: lowercase "
                                             "letters, digits and hyphens).")
            else:
                routes = [plugin_routes_scope(name) for name in dict.fromkeys(names)]
                cleaned["scopes"] = [*(cleaned.get("scopes") or []), *routes]
        return cleaned


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            return queryset.filter(unexpired, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


def api_key_state(key):
    """The key's state as a badge: Active, Expired or Revoked."""
    if key.revoked_at is not None:
        return status_badge("revoked")
    return status_badge("active") if key.is_usable() else status_badge("expired")


def api_key_owner(key):
    """Whom a key acts as, by name."""
    if key.plugin_id:
        return f"Plugin {key.plugin.name} ({key.plugin.plugin_id})"
    if key.membership_id:
        return f"Member {person_name(key.membership.user)}"
    return "Organization automation"


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    """API keys. The token is shown once, on the page after creation; only its SHA-256 hash is kept."""

    form = ApiKeyForm
    add_fields = ["organization", "name", "plugin", "membership", "scopes", "calls_only", "expires_at"]
    change_fields = [
        "organization", "name", "prefix", "state", "acts_as", "scopes", "calls_only", "expires_at", "last_used",
        "created_by_name", "created_at", "revoked_at", "id",
    ]
    editable_after_creation = ["name", "scopes", "calls_only", "expires_at"]
    list_display = [
        "key_name", "acts_as", "scope_list", "state", "last_used", "expires", "organization", "created",
    ]
    list_filter = [ApiKeyStateFilter, "organization"]
    list_select_related = ["organization", "plugin", "membership__user", "created_by"]
    search_fields = ["name", "prefix", "plugin__plugin_id", "plugin__name", "membership__user__username"]
    autocomplete_fields = ["plugin", "membership"]
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [name for name in self.change_fields if name not in self.editable_after_creation]

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "plugin", "membership__user",
                                                            "created_by")

    def add_view(self, request, form_url="", extra_context=None):
        # Saving always leads to the token page, so the "save and ..." variants would mislead.
        extra_context = {
            **(extra_context or {}), "show_save_and_add_another": False, "show_save_and_continue": False,
        }
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:  # name, scopes and expiry only
            return super().save_model(request, obj, form, change)
        # Issued by the same service as the API's; the plain token lives on this instance until response_add.
        key, token = create_api_key(admin_principal(request, obj.organization), name=obj.name, plugin=obj.plugin,
                                    membership=obj.membership, scopes=obj.scopes, expires_at=obj.expires_at)
        obj.pk = key.pk
        obj._state.adding = False
        obj.refresh_from_db()
        obj._token_to_show = token

    def response_add(self, request, obj, post_url_continue=None):
        token = obj.__dict__.pop("_token_to_show", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        # Rendered, not redirected with a message: the token must never reach a cookie or the session.
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.opts,
            "key": obj,
            "token": token,
            "changelist_url": reverse(f"{self.admin_site.name}:tenancy_apikey_changelist"),
            "change_url": reverse(f"{self.admin_site.name}:tenancy_apikey_change", args=[obj.pk]),
        }
        return TemplateResponse(request, "admin/tenancy/apikey/token_created.html", context)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            revoke_api_key(admin_principal(request, key.organization_id), key.pk)
            count += 1
        self.message_user(request, f"Revoked {count} API key{pluralize(count)}.", messages.SUCCESS)

    @admin.display(description="name", ordering="name")
    def key_name(self, obj):
        return format_html('{}<br><code class="plexica-subtle">{}…</code>', obj.name, obj.prefix)

    @admin.display(description="acts as")
    def acts_as(self, obj):
        return api_key_owner(obj)

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes) if obj.scopes else "all"

    @admin.display(description="state")
    def state(self, obj):
        return api_key_state(obj)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj):
        return short_time(obj.last_used_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj):
        return short_time(obj.expires_at, empty="never")

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        # The creator by name, not as a link: most admins may not open user pages.
        by = person_name(obj.created_by) if obj.created_by_id else "the system"
        return format_html("{}<br><span class=\"plexica-subtle\">by {}</span>", short_time(obj.created_at), by)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person_name(obj.created_by) if obj.created_by_id else "the system"


# Django's user and group admins, on the theme (unfold's forms): the only re-registration in the project,
# since they come from django.contrib.auth rather than from an app of ours.
User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ThemedModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, ThemedModelAdmin):
    pass
