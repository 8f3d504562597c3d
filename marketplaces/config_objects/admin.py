"""Admin of config objects: read-only identities with their immutable versions, a diff between two versions, a
"new version" form, and an add page that creates an object with its first version, scoped per organization.

Content changes go through the same service functions as the API, with the admin user as the principal, so
the admin validates and refuses exactly what the API does.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import path

from marketplaces.catalog.models import PluginConfigObject
from marketplaces.catalog.services import bundles
from marketplaces.config_objects import services
from marketplaces.config_objects.forms import AddConfigObjectForm, NewVersionForm
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access.admin import AccessGrantsDisplayMixin
from plexica.errors import Conflict, DomainError
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    ReadOnlyOrganizationScopedInline,
    admin_principal,
    admin_url,
    apply_to_selected,
)
from plexica.tenancy.models import Organization


class ConfigObjectVersionInline(ReadOnlyOrganizationScopedInline):
    """Versions are immutable: shown read-only, newest first; new ones come from the "new version" form or API."""

    model = ConfigObjectVersion
    fields = ["id", "created_at", "created_via", "created_by", "schema_version", "source_revision", "reason",
              "sha256", "preview"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = "versions (newest first; immutable)"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("created_by")
        return queryset.order_by(*ConfigObjectVersion.NEWEST_FIRST)

    @admin.display(description="content")
    def preview(self, version):
        if version.raw_source_text is not None:
            return truncatechars(version.raw_source_text, 120)
        return truncatechars(str(version.normalized_payload_json), 120)


class PluginMembershipInline(ReadOnlyOrganizationScopedInline):
    """The plugins this object belongs to: active first, then removed ones with when; changed through the API."""

    model = PluginConfigObject
    fk_name = "config_object"
    fields = ["plugin", "source", "added_by", "added_at", "removed_at"]
    readonly_fields = fields
    verbose_name_plural = "plugin memberships"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plugin", "added_by").order_by(
            F("removed_at").asc(nulls_first=True), "-added_at")


def _diff_lines(diff):
    """(css class, text) per line of a unified diff; the template escapes the text."""
    lines = []
    for number, line in enumerate(diff.split("\n")[:-1]):  # a diff's lines end in LF; other breaks are text
        if number < 2 and line.startswith(("+++ ", "--- ")):  # later, "---" is a removed "--" line
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("\\"):  # "\ No newline at end of file"
            kind = "note"
        elif line.startswith("+"):
            kind = "added"
        elif line.startswith("-"):
            kind = "removed"
        else:
            kind = "context"
        lines.append((kind, line))
    return lines


@admin.register(ConfigObject)
class ConfigObjectAdmin(AccessGrantsDisplayMixin, OrganizationScopedAdmin):
    """Config objects of each organization. Content changes only by adding versions, so fields are read-only.

    The change page links to a diff between two versions and to a "new version" form; the add page creates an
    object with its first version. Both validate through the services, as the API does.
    """

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
    grant_resource_type = CONFIG_OBJECT

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is soft, through the API

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        # Before the default patterns: their "<path:object_id>/" catch-all would swallow these.
        return [
            path("<path:object_id>/compare/", view(self.compare_view), name="{}_{}_compare".format(*info)),
            path("<path:object_id>/new-version/", view(self.new_version_view),
                 name="{}_{}_new_version".format(*info)),
            *super().get_urls(),
        ]

    def _guarded_object(self, request, object_id, change=False):
        """The object if the user may see (or change) it: 403 without admin standing, 404 outside their orgs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No config object {object_id}.")
        allowed = self.has_change_permission(request, obj) if change else self.has_view_permission(request, obj)
        if not allowed:
            raise PermissionDenied
        return obj

    def _context(self, request, obj, title, **extra):
        return {
            **self.admin_site.each_context(request), "opts": self.opts, "original": obj, "title": title,
            "change_url": admin_url("marketplaces_configobject_change", obj.pk), **extra,
        }

    def compare_view(self, request, object_id):
        """A unified diff between two versions (default: the previous one against the latest)."""
        obj = self._guarded_object(request, object_id)
        principal = admin_principal(request, obj.organization)
        versions = list(services.list_versions(principal, obj.pk, include_deleted=True)
                        .order_by(*ConfigObjectVersion.NEWEST_FIRST)
                        .defer("raw_source_text", "normalized_payload_json"))
        to_id = request.GET.get("to") or (versions[0].pk if versions else "")
        from_id = request.GET.get("from") or (versions[1].pk if len(versions) > 1 else to_id)
        old = new = None
        lines, error, status = [], None, 200
        try:
            old, new, diff = services.compare_versions(principal, obj.pk, from_id, to_id, include_deleted=True)
            lines = _diff_lines(diff)
        except DomainError as exc:
            error, status = exc.message, exc.status
        context = self._context(
            request, obj, f"Compare versions of {obj}", versions=versions, from_id=from_id, to_id=to_id,
            old=old, new=new, lines=lines, error=error,
            identical=old is not None and old.sha256 == new.sha256,
        )
        request.current_app = self.admin_site.name
        template = "admin/marketplaces/configobject/compare.html"
        return TemplateResponse(request, template, context, status=status)

    def new_version_view(self, request, object_id):
        """Add a version from the admin: validated and deduplicated by services.add_version, like the API."""
        obj = self._guarded_object(request, object_id, change=True)
        latest, conflict_url = obj.latest_version(), None
        if request.method == "POST":
            form = NewVersionForm(request.POST)
            if form.is_valid():
                base = form.cleaned_data["base_version_id"]
                try:
                    version, created = services.add_version(
                        admin_principal(request, obj.organization), obj.pk, form.version_input(),
                        base_version_ids={base} if base else None,
                    )
                except Conflict as exc:
                    latest_id = exc.extra.get("latestVersionId")
                    if latest_id is None:
                        form.add_error(None, exc.message)
                    else:
                        # Re-based on the newest: submitting again, after reviewing it, is a deliberate choice.
                        form = NewVersionForm({**request.POST.dict(), "base_version_id": latest_id})
                        form.is_valid()
                        form.add_error(None, f"Conflict: someone added version {latest_id} since you opened "
                                             "this form. Review it (see the comparison link) and submit again "
                                             "to replace it with your text; nothing was saved.")
                        latest = obj.latest_version()
                        conflict_url = admin_url("marketplaces_configobject_compare", obj.pk,
                                                  query={"from": base, "to": latest_id})
                except DomainError as exc:
                    form.add_domain_error(exc)
                else:
                    if created:
                        self.log_change(request, obj, f"Added version {version.pk}.")
                        self.message_user(request, f"Added version {version.pk}.", messages.SUCCESS)
                    else:
                        self.message_user(request, f"The content equals the latest version ({version.pk}); "
                                                   "no new version was created.", messages.INFO)
                    return HttpResponseRedirect(admin_url("marketplaces_configobject_change", obj.pk))
        else:
            form = NewVersionForm(initial=_prefill(latest))
        context = self._context(request, obj, f"New version of {obj}", form=form, latest=latest,
                                conflict_url=conflict_url, media=self.media + form.media)
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/marketplaces/configobject/new_version.html", context)

    def add_view(self, request, form_url="", extra_context=None):
        """A config object is created with its first version, through the same service as the API's create."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        scope = {} if self.sees_everything(request) else {"pk__in": self.admin_org_ids(request)}
        organizations = Organization.objects.filter(**scope)
        plugins = Plugin.objects.filter(**{f"organization__{k}": v for k, v in scope.items()}).exclude(
            catalog_status=Plugin.CatalogStatus.DELETED).order_by("plugin_id")
        choices = {"organizations": organizations, "plugins": plugins}
        if request.method == "POST":
            form = AddConfigObjectForm(request.POST, **choices)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    obj, version = bundles.create_config_object_in_plugins(
                        admin_principal(request, data["organization"]), data["type"], data["source_mode"],
                        form.version_input(), [plugin.plugin_id for plugin in data["plugins"]],
                    )
                except DomainError as exc:
                    form.add_domain_error(exc)
                else:
                    self.log_addition(request, obj, f"Created with version {version.pk}.")
                    self.message_user(request, f"Created {obj} with its first version {version.pk}.",
                                      messages.SUCCESS)
                    return HttpResponseRedirect(admin_url("marketplaces_configobject_change", obj.pk))
        else:
            initial = {"organization": next(iter(organizations), None)} if len(organizations) == 1 else {}
            form = AddConfigObjectForm(initial=initial, **choices)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "Add config object",
            "form": form, "media": self.media + form.media,
            "changelist_url": admin_url("marketplaces_configobject_changelist"),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/marketplaces/configobject/add.html", context)

    @admin.action(description="Archive selected config objects", permissions=["change"])
    def archive_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, services.archive_config_object, "Archived", "config object")

    @admin.action(description="Restore selected config objects", permissions=["change"])
    def restore_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, services.restore_config_object, "Restored", "config object")


def _prefill(latest):
    """The new-version form starts from the latest content, so editing it is the natural path."""
    if latest is None:
        return {}
    payload = latest.normalized_payload_json
    return {
        "raw_source_text": latest.raw_source_text or "",
        "normalized_payload_json": "" if payload is None else json.dumps(payload, indent=2,
                                                                          ensure_ascii=False),
        "schema_version": latest.schema_version, "base_version_id": latest.pk,
    }
