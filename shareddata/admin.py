import json

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from plexica.adminsite.badges import status_badge
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

    fields = ["organization", "namespace", "key", "owner_name", "state", "value_pretty", "expires_at", "etag",
              "created_at", "updated_at"]
    readonly_fields = fields
    list_display = ["namespace", "key", "owner_name", "state", "organization", "expires_at", "updated_at"]
    list_filter = [LiveFilter, "organization"]
    list_select_related = ["owner", "organization"]
    search_fields = ["namespace", "key", "owner__plugin_id", "owner__name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner", "organization")

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    def has_add_permission(self, request):
        return False  # entries are written by plugins through the gateway

    def has_change_permission(self, request, obj=None):
        return False  # nothing here is edited (plugins write entries): a read-only page, no Save button

    @admin.display(description="owner", ordering="owner__plugin_id")
    def owner_name(self, entry):
        if entry.owner_id is None:
            return "-"
        return f"{entry.owner.name} ({entry.owner.plugin_id})" if entry.owner.name else entry.owner.plugin_id

    @admin.display(description="state")
    def state(self, entry):
        if entry.expires_at is not None and entry.expires_at <= timezone.now():
            return status_badge("expired", "Expired (awaiting purge)")
        return status_badge("active", "Live")

    @admin.display(description="value")
    def value_pretty(self, entry):
        return format_html('<pre class="plexica-pre">{}</pre>', json.dumps(entry.value, indent=2, sort_keys=True))
