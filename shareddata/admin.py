from django.contrib import admin
from django.utils import timezone

from plexica.tenancy.admin import OrganizationScopedAdmin
from shareddata.models import SharedEntry


class LiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("expired", "Expired (awaiting purge)")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "live":
            return queryset.exclude(expires_at__lte=now)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        return queryset


@admin.register(SharedEntry)
class SharedEntryAdmin(OrganizationScopedAdmin):
    """Namespaced data plugins share. Plugins write it; admins inspect and remove entries."""

    fields = ["organization", "namespace", "key", "owner", "value", "expires_at", "etag", "created_at", "updated_at"]
    readonly_fields = fields
    list_display = ["namespace", "key", "owner", "organization", "expires_at", "updated_at"]
    list_filter = [LiveFilter, "organization"]
    list_select_related = ["owner", "organization"]
    search_fields = ["namespace", "key", "owner__plugin_id"]

    def has_add_permission(self, request):
        return False  # entries are written by plugins through the gateway
