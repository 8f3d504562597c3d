"""Admin of plugin releases, scoped per organization: read-only snapshots (made through the API), and actions
that pin and unpin them through the release services with the admin user as the principal."""

from django.contrib import admin, messages
from django.db.models import Count
from django.template.defaultfilters import pluralize

from marketplaces.delivery import releases
from marketplaces.delivery.models import PluginRelease, PluginReleaseItem
from plexica.adminsite.badges import badge
from plexica.errors import DomainError
from plexica.tenancy.admin import OrganizationScopedAdmin, ReadOnlyOrganizationScopedInline, admin_principal


class PluginReleaseItemInline(ReadOnlyOrganizationScopedInline):
    """The config object versions a release consists of (immutable)."""

    model = PluginReleaseItem
    fields = ["config_object", "version", "version_created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("config_object", "version").defer(
            "version__raw_source_text", "version__normalized_payload_json")

    @admin.display(description="version created")
    def version_created_at(self, item):
        return item.version.created_at


@admin.register(PluginRelease)
class PluginReleaseAdmin(OrganizationScopedAdmin):
    """Immutable snapshots of plugins (made through the API). Pinning one makes delivery serve it."""

    fields = ["id", "organization", "plugin", "name", "notes", "created_by", "created_at", "pinned_at"]
    readonly_fields = fields
    list_display = ["__str__", "plugin", "pinned", "item_count", "organization", "created_by", "created_at"]
    # No filter by plugin (an organization may have thousands): search names it, and each plugin's page lists its own.
    list_filter = [("pinned_at", admin.EmptyFieldListFilter), "organization"]
    list_select_related = ["plugin", "organization", "created_by"]
    search_fields = ["id", "name", "plugin__plugin_id", "plugin__name"]
    date_hierarchy = "created_at"
    inlines = [PluginReleaseItemInline]
    actions = ["pin_selected", "unpin_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_total=Count("items"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_pin_permission(self, request):
        """Pinning is a change of delivery, allowed to whoever administers the release's organization."""
        if self.sees_everything(request):
            return super().has_change_permission(request)
        return self.may_manage(request)

    @admin.display(description="pinned", ordering="pinned_at")
    def pinned(self, release):
        return badge("Pinned", "green") if release.pinned_at is not None else ""

    @admin.display(description="items", ordering="item_total")
    def item_count(self, release):
        return release.item_total

    @admin.action(description="Pin selected release (delivery serves it instead of the latest)",
                  permissions=["pin"])
    def pin_selected(self, request, queryset):
        by_plugin = {}
        for release in queryset.select_related("plugin", "organization"):
            by_plugin.setdefault(release.plugin, []).append(release)
        for plugin, selected in by_plugin.items():
            if len(selected) > 1:
                self.message_user(request, f"Select one release of {plugin.plugin_id} to pin, "
                                           f"not {len(selected)}.", messages.WARNING)
                continue
            chosen = selected[0]
            try:
                before = releases.pinned_release(plugin)
                release = releases.pin_release(admin_principal(request, chosen.organization), plugin.plugin_id,
                                               chosen.pk)
            except DomainError as exc:
                self.message_user(request, f"{plugin.plugin_id}: {exc.message}", messages.WARNING)
                continue
            note = f" (unpinned {before.pk})" if before is not None and before.pk != release.pk else ""
            self.message_user(request, f"Pinned {release} for {plugin.plugin_id}{note}.", messages.SUCCESS)

    @admin.action(description="Unpin selected releases (delivery serves the latest again)",
                  permissions=["pin"])
    def unpin_selected(self, request, queryset):
        done = 0
        for release in queryset.filter(pinned_at__isnull=False).select_related("plugin", "organization"):
            try:
                # The plugin's pinned release is this one: the service unpins whichever is pinned.
                done += releases.unpin_release(admin_principal(request, release.organization),
                                               release.plugin.plugin_id) is not None
            except DomainError as exc:
                self.message_user(request, f"{release}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Unpinned {done} release{pluralize(done)}.",
                          messages.SUCCESS if done else messages.INFO)
