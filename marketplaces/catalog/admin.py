"""Admin of marketplaces and the plugins they offer, scoped per organization. Changes of a marketplace's plugins
go through the catalog services with the admin user as the principal, as the API's do."""

from django import forms
from django.contrib import admin, messages

from marketplaces.catalog.models import Marketplace, MarketplacePlugin
from marketplaces.catalog.services import marketplaces
from marketplaces.sharing import MARKETPLACE
from plexica.access.admin import AccessGrantsDisplayMixin
from plexica.errors import DomainError
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    admin_principal,
    apply_to_selected,
)


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
class MarketplaceAdmin(AccessGrantsDisplayMixin, OrganizationScopedAdmin):
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
    grant_resource_type = MARKETPLACE

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
        principal = admin_principal(request, marketplace.organization)
        formset.save(commit=False)
        try:
            for row in formset.deleted_objects:
                marketplaces.remove_plugin_from_marketplace(principal, marketplace, row.plugin)
            for row, _changed in formset.changed_objects:
                previous = MarketplacePlugin.objects.get(pk=row.pk).plugin
                marketplaces.remove_plugin_from_marketplace(principal, marketplace, previous)
                marketplaces.add_plugin_to_marketplace(principal, marketplace, row.plugin)
            for row in formset.new_objects:
                marketplaces.add_plugin_to_marketplace(principal, marketplace, row.plugin)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)

    @admin.action(description="Archive selected marketplaces", permissions=["change"])
    def archive_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, marketplaces.archive_marketplace, "Archived", "marketplace")

    @admin.action(description="Restore selected marketplaces", permissions=["change"])
    def restore_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, marketplaces.restore_marketplace, "Restored", "marketplace")
