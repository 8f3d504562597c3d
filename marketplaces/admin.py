from django.contrib import admin, messages
from django.template.defaultfilters import pluralize, truncatechars

from marketplaces import services
from marketplaces.models import ConfigObject, ConfigObjectVersion
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
    inlines = [ConfigObjectVersionInline]
    actions = ["archive_selected", "restore_selected"]

    def has_add_permission(self, request):
        return False  # an object is created with its first version, through the API

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is soft, through the API

    def _apply(self, request, queryset, change, verb):
        done, refused = 0, []
        for obj in queryset:
            try:
                change(_AdminPrincipal(obj.organization, request.user), obj.pk)
                done += 1
            except DomainError as exc:
                refused.append(f"{obj}: {exc.message}")
        if done:
            self.message_user(request, f"{verb} {done} config object{pluralize(done)}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

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
