from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.template.defaultfilters import pluralize, truncatechars

from marketplaces import composition, services
from marketplaces.models import ConfigObject, ConfigObjectVersion, Marketplace, MarketplacePlugin, PluginConfigObject
from plexica.errors import DomainError
from plexica.tenancy.admin import OrganizationScopedAdmin, OrganizationScopedInline


class ConfigObjectVersionInline(OrganizationScopedInline):
    """Versions are immutable: shown read-only, newest first; new ones come through the API."""

    model = ConfigObjectVersion
    fields = ["id", "created_at", "created_via", "created_by", "schema_version", "source_revision", "reason",
              "sha256", "preview"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "versions (newest first; immutable)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by").order_by(*ConfigObjectVersion.NEWEST_FIRST)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="content")
    def preview(self, version):
        if version.raw_source_text is not None:
            return truncatechars(version.raw_source_text, 120)
        return truncatechars(str(version.normalized_payload_json), 120)


class PluginMembershipInline(OrganizationScopedInline):
    """The plugins this object belongs to: active first, then removed ones with when; changed through the API."""

    model = PluginConfigObject
    fk_name = "config_object"
    fields = ["plugin", "source", "added_by", "added_at", "removed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "plugin memberships"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plugin", "added_by").order_by(
            F("removed_at").asc(nulls_first=True), "-added_at")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConfigObject)
class ConfigObjectAdmin(OrganizationScopedAdmin):
    """Config objects of each organization. Content changes only by adding versions (API), so fields are read-only."""

    fields = ["id", "organization", "type", "source_mode", "title", "description", "file_name", "relative_path",
              "status", "created_by", "created_at", "updated_at", "deleted_at"]
    readonly_fields = fields
    list_display = ["title", "type", "status", "source_mode", "organization", "created_at", "updated_at"]
    list_filter = ["type", "status", "source_mode", "organization"]
    list_select_related = ["organization"]
    search_fields = ["title", "description", "relative_path"]
    date_hierarchy = "created_at"
    inlines = [ConfigObjectVersionInline, PluginMembershipInline]
    actions = ["archive_selected", "restore_selected"]

    def has_add_permission(self, request):
        return False  # an object is created with its first version, through the API

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is soft, through the API

    def _apply(self, request, queryset, change, verb):
        _apply(self, request, queryset, change, verb, "config object")

    @admin.action(description="Archive selected config objects", permissions=["change"])
    def archive_selected(self, request, queryset):
        self._apply(request, queryset, services.archive_config_object, "Archived")

    @admin.action(description="Restore selected config objects", permissions=["change"])
    def restore_selected(self, request, queryset):
        self._apply(request, queryset, services.restore_config_object, "Restored")


class _AdminPrincipal:
    """The admin user acting in one organization (the services take a principal)."""

    def __init__(self, organization, user):
        self.organization, self.user = organization, user


def _apply(model_admin, request, queryset, change, verb, noun):
    done, refused = 0, []
    for obj in queryset:
        try:
            change(_AdminPrincipal(obj.organization, request.user), obj.pk)
            done += 1
        except DomainError as exc:
            refused.append(f"{obj}: {exc.message}")
    if done:
        model_admin.message_user(request, f"{verb} {done} {noun}{pluralize(done)}.", messages.SUCCESS)
    for reason in refused:
        model_admin.message_user(request, reason, messages.WARNING)


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


class MarketplacePluginInline(OrganizationScopedInline):
    """The marketplace's plugins. Removing one here is soft; adding a removed one again reactivates it."""

    model = MarketplacePlugin
    form = MarketplacePluginForm
    fields = ["plugin", "added_by", "added_at"]
    readonly_fields = ["added_by", "added_at"]
    extra = 0
    verbose_name_plural = "plugins (the marketplace's composition)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(removed_at__isnull=True).select_related("plugin", "added_by")


@admin.register(Marketplace)
class MarketplaceAdmin(OrganizationScopedAdmin):
    """Marketplaces of each organization and the plugins they offer."""

    fields = ["id", "organization", "name", "description", "logo_url", "status", "created_by", "created_at",
              "updated_at", "deleted_at"]
    readonly_fields = ["id", "status", "created_by", "created_at", "updated_at", "deleted_at"]
    list_display = ["name", "status", "organization", "created_at", "deleted_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "description"]
    inlines = [MarketplacePluginInline]
    actions = ["archive_selected", "restore_selected"]

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is soft, through the API

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not MarketplacePlugin:
            return super().save_formset(request, form, formset, change)
        marketplace = form.instance
        principal = _AdminPrincipal(marketplace.organization, request.user)
        formset.save(commit=False)
        try:
            for row in formset.deleted_objects:
                composition.remove_plugin_from_marketplace(principal, marketplace, row.plugin)
            for row, _changed in formset.changed_objects:
                previous = MarketplacePlugin.objects.get(pk=row.pk).plugin
                composition.remove_plugin_from_marketplace(principal, marketplace, previous)
                composition.add_plugin_to_marketplace(principal, marketplace, row.plugin)
            for row in formset.new_objects:
                composition.add_plugin_to_marketplace(principal, marketplace, row.plugin)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)

    @admin.action(description="Archive selected marketplaces", permissions=["change"])
    def archive_selected(self, request, queryset):
        _apply(self, request, queryset, composition.archive_marketplace, "Archived", "marketplace")

    @admin.action(description="Restore selected marketplaces", permissions=["change"])
    def restore_selected(self, request, queryset):
        _apply(self, request, queryset, composition.restore_marketplace, "Restored", "marketplace")
