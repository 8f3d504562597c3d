"""Admin of marketplaces and the plugins they offer, scoped per organization. The marketplace page shows its
plugins (names, lifecycle) and who can see it, explained; changes of its plugins go through the catalog
services with the admin user as the principal, as the API's do, and record the source "admin"."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, F, Q
from django.utils.html import format_html, format_html_join

from marketplaces.admin_widgets import PreloadedAutocompleteInlineMixin
from marketplaces.catalog.models import Marketplace, MarketplacePlugin, MembershipSource
from marketplaces.catalog.services import marketplaces
from marketplaces.config_objects.admin import person, plugin_label
from marketplaces.sharing import MARKETPLACE
from plexica.access import services as access
from plexica.access.admin import grants_panel
from plexica.adminsite.badges import badge, status_badge
from plexica.errors import DomainError
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    admin_principal,
    apply_to_selected,
)

PLUGINS_PER_PAGE = 25
VISIBILITY_GRANTS = 20  # the explanation names this many grants; the grants table below lists them all


class MarketplacePluginForm(forms.ModelForm):
    class Meta:
        model = MarketplacePlugin
        fields = ["plugin"]

    def validate_unique(self):
        # A removed membership of the same plugin is reactivated on save rather than refused as a duplicate.
        instance = self.instance
        if instance._state.adding and MarketplacePlugin.objects.filter(
            marketplace_id=instance.marketplace_id, plugin_id=instance.plugin_id, removed_at__isnull=False
        ).exists():
            return
        super().validate_unique()


class MarketplacePluginInline(PreloadedAutocompleteInlineMixin, OrganizationScopedInline):
    """The marketplace's plugins, picked by name with an autocomplete of the organization's plugins. Removing
    one here is soft; adding a removed one again reactivates it."""

    model = MarketplacePlugin
    form = MarketplacePluginForm
    fields = ["plugin", "lifecycle", "source", "added_by_name", "added_at"]
    readonly_fields = ["lifecycle", "source", "added_by_name", "added_at"]
    autocomplete_fields = ["plugin"]
    autocomplete_labels = {"plugin": plugin_label}
    extra = 0
    per_page = PLUGINS_PER_PAGE
    verbose_name = "plugin"
    verbose_name_plural = "plugins offered in this marketplace"

    def get_queryset(self, request):
        return (super().get_queryset(request).filter(removed_at__isnull=True)
                .select_related("plugin", "added_by", "marketplace")
                .order_by("plugin__name", "plugin__plugin_id"))

    @admin.display(description="lifecycle")
    def lifecycle(self, row):
        if not row.plugin_id:
            return "-"
        return status_badge(row.plugin.lifecycle_state, row.plugin.get_lifecycle_state_display())

    @admin.display(description="added by")
    def added_by_name(self, row):
        return person(row.added_by) if row.pk else "-"


def explain_visibility(marketplace, grants):
    """Who sees `marketplace`, in words: its admins always; members through a member, team or org-wide grant,
    and only while it is active."""
    organization = marketplace.organization
    lines = [f"Owners and admins of {organization.name} always see it."]
    if marketplace.is_deleted or marketplace.status != Marketplace.Status.ACTIVE:
        state = "deleted" if marketplace.is_deleted else marketplace.get_status_display().lower()
        lines.append(f"It is {state}: members see it in no catalog, whatever its grants, until it is restored.")
    org_wide = [g for g in grants if g.org_wide]
    teams = [g for g in grants if g.team_id]
    members = [g for g in grants if g.membership_id]
    if org_wide:
        lines.append(f"Everyone in {organization.name} sees it (an org-wide grant, as {org_wide[0].get_role_display()}).")
    for grant in teams[:VISIBILITY_GRANTS]:
        lines.append(f"Every member of team {grant.team.name} sees it (a team grant, as {grant.get_role_display()}).")
    for grant in members[:max(0, VISIBILITY_GRANTS - len(teams))]:
        lines.append(f"{person(grant.membership.user)} sees it (a member grant, as {grant.get_role_display()}).")
    if len(grants) > VISIBILITY_GRANTS:
        lines.append("And more members and teams: every grant is in the table below.")
    if not grants:
        lines.append("No grants: members do not see it; add a grant to a member, a team or the whole organization.")
    lines.append("Whoever sees it may view (and install) every plugin it offers.")
    return format_html("<ul class=\"plexica-explain\" id=\"visibility-explained\">{}</ul>",
                       format_html_join("", "<li>{}</li>", ((line,) for line in lines)))


@admin.register(Marketplace)
class MarketplaceAdmin(OrganizationScopedAdmin):
    """Marketplaces of each organization, the plugins they offer and who can see them."""

    fields = ["id", "organization", "name", "description", "logo_url", "status_badge", "plugin_count",
              "created_by_name", "created_at", "updated_at", "deleted_at"]
    readonly_fields = ["id", "status_badge", "plugin_count", "created_by_name", "created_at", "updated_at",
                       "deleted_at", "who_can_see_it"]
    list_display = ["name", "status_badge", "plugin_count", "organization", "created_by_name", "created_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "created_by"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["organization"]
    inlines = [MarketplacePluginInline]
    actions = ["archive_selected", "restore_selected"]

    def get_queryset(self, request):
        active = Q(plugin_memberships__removed_at__isnull=True)
        return (super().get_queryset(request).select_related("organization", "created_by")
                .annotate(active_plugins=Count("plugin_memberships", filter=active)))

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None:
            return [f for f in fields if f in ("organization", "name", "description", "logo_url")]
        return [*fields, "who_can_see_it"]

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is soft, through the API

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        if obj.is_deleted:
            return badge("Deleted", "grey")
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="plugins", ordering="active_plugins")
    def plugin_count(self, obj):
        return getattr(obj, "active_plugins", None)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person(obj.created_by)

    @admin.display(description="who can see it")
    def who_can_see_it(self, obj):
        # The theme reads a read-only field more than once per page: rendered once per object.
        if getattr(obj, "_who_can_see_it", None) is None:
            grants = list(access.active_grants(obj.organization_id, MARKETPLACE, obj.pk)
                          .order_by(F("org_wide").desc(), F("team_id").asc(nulls_last=True), "created_at")
                          [:VISIBILITY_GRANTS + 1])
            obj._who_can_see_it = format_html("<div class=\"plexica-panel\" id=\"panel-visibility\">{}{}</div>",
                                              explain_visibility(obj, grants), grants_panel(MARKETPLACE, obj))
        return obj._who_can_see_it

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not MarketplacePlugin:
            return super().save_formset(request, form, formset, change)
        marketplace = form.instance
        principal = admin_principal(request, marketplace.organization)
        formset.save(commit=False)
        admin_source = MembershipSource.ADMIN
        try:
            for row in formset.deleted_objects:
                marketplaces.remove_plugin_from_marketplace(principal, marketplace, row.plugin)
            for row, _changed in formset.changed_objects:
                previous = MarketplacePlugin.objects.get(pk=row.pk).plugin
                marketplaces.remove_plugin_from_marketplace(principal, marketplace, previous)
                marketplaces.add_plugin_to_marketplace(principal, marketplace, row.plugin, source=admin_source)
            for row in formset.new_objects:
                marketplaces.add_plugin_to_marketplace(principal, marketplace, row.plugin, source=admin_source)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)

    @admin.action(description="Archive selected marketplaces", permissions=["change"])
    def archive_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, marketplaces.archive_marketplace, "Archived", "marketplace")

    @admin.action(description="Restore selected marketplaces", permissions=["change"])
    def restore_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, marketplaces.restore_marketplace, "Restored", "marketplace")

