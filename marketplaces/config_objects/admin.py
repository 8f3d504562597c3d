"""Admin of config objects: an object page in NetBox's way (overview, versions newest first with their text,
comparison of any two, the plugins bundling it, its source, its access grants), a "new version" form, and an
add page that creates an object with its first version, scoped per organization.

Content changes go through the same service functions as the API, with the admin user as the principal, so
the admin validates and refuses exactly what the API does. Other apps add panels to the page through
marketplaces.config_objects.admin_extensions (connectors shows the object's source there).
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from marketplaces.catalog.models import MembershipSource, PluginConfigObject
from marketplaces.catalog.services import bundles
from marketplaces.config_objects import services
from marketplaces.config_objects.admin_extensions import config_object_panels
from marketplaces.config_objects.forms import AddConfigObjectForm, NewVersionForm
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access.admin import AccessGrantsDisplayMixin, grants_panel
from plexica.adminsite.badges import badge, status_badge
from plexica.adminsite.display import short_person_name as person
from plexica.errors import Conflict, DomainError
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    admin_principal,
    admin_url,
    apply_to_selected,
)
from plexica.tenancy.models import Organization

VERSIONS_PER_PAGE = 10
BUNDLE_ROWS = 100
STATUS_TONES = {"ingestion_error": "red", "inactive": "yellow", "deleted": "grey"}


def plugin_label(plugin):
    """"CRM (plugin-crm)"."""
    return f"{plugin.name} ({plugin.plugin_id})" if plugin.name and plugin.name != plugin.plugin_id else plugin.plugin_id


def object_status_badge(obj):
    return badge(obj.get_status_display(), STATUS_TONES[obj.status]) if obj.status in STATUS_TONES else \
        status_badge(obj.status, obj.get_status_display())


def version_text(version):
    """A version's content as text: the raw source, else its JSON payload indented."""
    if version.raw_source_text is not None:
        return version.raw_source_text
    return json.dumps(version.normalized_payload_json, indent=2, ensure_ascii=False)


class BundleForm(forms.Form):
    """Add the config object to a plugin: the plugin is picked with the Plugin admin's (org-scoped) autocomplete."""

    plugin = forms.ModelChoiceField(queryset=Plugin.objects.none(), label="Add to plugin")

    def __init__(self, *args, organization, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["plugin"]
        field.queryset = Plugin.objects.filter(organization=organization).exclude(
            catalog_status=Plugin.CatalogStatus.DELETED)
        field.label_from_instance = plugin_label
        field.widget = AutocompleteSelect(PluginConfigObject._meta.get_field("plugin"), admin_site,
                                          attrs={"id": "id_bundle_plugin", "data-placeholder": "Search a plugin",
                                                 "style": "width: 100%"})
        field.widget.choices = field.choices


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
    """Config objects of each organization. Content changes only by adding versions, so the page is read-only:
    an overview, its versions newest first (the text readable, any two compared), the plugins bundling it
    (added and removed here, through the catalog services), its source (other apps' panels) and its grants.

    The add page creates an object with its first version; both validate through the services, as the API does.
    """

    fields = ["id", "organization", "type", "source_mode", "title", "description", "file_name", "relative_path",
              "status", "created_by_name", "created_at", "updated_at", "deleted_at"]
    readonly_fields = fields
    list_display = ["title", "type", "status_badge", "source_mode", "organization", "created_at", "updated_at"]
    list_filter = ["type", "status", "source_mode", "organization"]
    list_select_related = ["organization"]
    search_fields = ["title", "description", "relative_path"]
    date_hierarchy = "created_at"
    actions = ["archive_selected", "restore_selected"]
    grant_resource_type = CONFIG_OBJECT

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is soft, through the API

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return object_status_badge(obj)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person(obj.created_by)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "created_by")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        # Before the default patterns: their "<path:object_id>/" catch-all would swallow these.
        return [
            path("<path:object_id>/compare/", view(self.compare_view), name="{}_{}_compare".format(*info)),
            path("<path:object_id>/new-version/", view(self.new_version_view),
                 name="{}_{}_new_version".format(*info)),
            path("<path:object_id>/plugins/", view(self.bundle_view), name="{}_{}_bundle".format(*info)),
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

    # The object page

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Nothing on the page is saved by a Save button: content changes by versions, the rest by actions.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_inline_instances(self, request, obj=None):
        return []  # the page's panels show versions and memberships; nothing is edited inline

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context.update(self.page_context(request, obj, self.has_change_permission(request, obj)))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def page_context(self, request, obj, can_change):
        """The panels of the object page: a bounded number of queries whatever the number of versions,
        memberships and grants."""
        page = _page_number(request.GET.get("versions_page"))
        total = obj.versions.count()
        pages = max(1, -(-total // VERSIONS_PER_PAGE))
        page = min(page, pages)
        offset = (page - 1) * VERSIONS_PER_PAGE
        # One more than the page shows: the last one's "compare with previous" needs its predecessor.
        rows = list(obj.versions.select_related("created_by").order_by(*ConfigObjectVersion.NEWEST_FIRST)
                    [offset:offset + VERSIONS_PER_PAGE + 1])
        versions = []
        for index, version in enumerate(rows[:VERSIONS_PER_PAGE]):
            version.number = total - offset - index
            version.text = version_text(version)
            version.line_count = version.text.count("\n") + (0 if version.text.endswith("\n") else 1)
            version.previous = rows[index + 1] if index + 1 < len(rows) else None
            version.author = person(version.created_by)
            versions.append(version)
        memberships = list(PluginConfigObject.objects.filter(config_object=obj, removed_at__isnull=True)
                           .select_related("plugin", "added_by").order_by("plugin__name", "plugin__plugin_id")
                           [:BUNDLE_ROWS + 1])
        for membership in memberships:
            membership.plugin_label = plugin_label(membership.plugin)
            membership.plugin_url = admin_url("plugins_plugin_change", membership.plugin.pk)
            membership.lifecycle_badge = status_badge(membership.plugin.lifecycle_state,
                                                      membership.plugin.get_lifecycle_state_display())
            membership.added_by_name = person(membership.added_by)
        more_members = len(memberships) > BUNDLE_ROWS
        bundle_form = BundleForm(organization=obj.organization, admin_site=self.admin_site) if can_change else None
        panels = []
        for panel in config_object_panels():
            html = panel.render(request, obj)
            if html:
                panels.append({"name": panel.name, "title": panel.title, "html": html})
        change_url = admin_url("marketplaces_configobject_change", obj.pk)
        return {
            "status_badge": object_status_badge(obj), "created_by_name": person(obj.created_by),
            "versions": versions, "version_total": total, "version_page": page, "version_pages": pages,
            "version_newer_url": f"{change_url}?versions_page={page - 1}#panel-versions" if page > 1 else None,
            "version_older_url": f"{change_url}?versions_page={page + 1}#panel-versions" if page < pages else None,
            "compare_url": admin_url("marketplaces_configobject_compare", obj.pk),
            "new_version_url": admin_url("marketplaces_configobject_new_version", obj.pk),
            "bundle_url": admin_url("marketplaces_configobject_bundle", obj.pk),
            "memberships": memberships[:BUNDLE_ROWS], "more_members": more_members,
            "bundle_form": bundle_form, "can_change": can_change,
            "accepts_versions": obj.status not in services.READ_ONLY_STATUSES,
            "extension_panels": panels, "grants_html": grants_panel(CONFIG_OBJECT, obj),
            "media": self.media + (bundle_form.media if bundle_form else forms.Media()),
        }

    def bundle_view(self, request, object_id):
        """POST: add the object to a plugin, or remove it from one, through the catalog services (source admin)."""
        obj = self._guarded_object(request, object_id, change=True)
        back = admin_url("marketplaces_configobject_change", obj.pk) + "#panel-plugins"
        if request.method != "POST":
            return HttpResponseRedirect(back)
        plugin = Plugin.objects.filter(organization=obj.organization, pk=request.POST.get("plugin") or None).first()
        if plugin is None:
            self.message_user(request, f"Pick a plugin of {obj.organization.name} to add {obj} to.", messages.WARNING)
            return HttpResponseRedirect(back)
        principal = admin_principal(request, obj.organization)
        label = plugin_label(plugin)
        try:
            if request.POST.get("action") == "remove":
                bundles.remove_config_object_from_plugin(principal, plugin, obj)
                self.log_change(request, obj, f"Removed from plugin {label}.")
                self.message_user(request, f"Removed {obj} from {label}.", messages.SUCCESS)
            else:
                _, created = bundles.add_config_object_to_plugin(principal, plugin, obj,
                                                                 source=MembershipSource.ADMIN)
                if created:
                    self.log_change(request, obj, f"Added to plugin {label}.")
                    self.message_user(request, f"Added {obj} to {label}.", messages.SUCCESS)
                else:
                    self.message_user(request, f"{obj} is already in {label}.", messages.INFO)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)
        return HttpResponseRedirect(back)

    def compare_view(self, request, object_id):
        """A unified diff between two versions (default: the previous one against the latest)."""
        obj = self._guarded_object(request, object_id)
        principal = admin_principal(request, obj.organization)
        versions = list(services.list_versions(principal, obj.pk, include_deleted=True)
                        .order_by(*ConfigObjectVersion.NEWEST_FIRST)
                        .defer("raw_source_text", "normalized_payload_json"))
        for index, version in enumerate(versions):
            version.number = len(versions) - index
        to_id = request.GET.get("to") or (versions[0].pk if versions else "")
        from_id = request.GET.get("from") or (versions[1].pk if len(versions) > 1 else to_id)
        old = new = None
        lines, error, status = [], None, 200
        try:
            old, new, diff = services.compare_versions(principal, obj.pk, from_id, to_id, include_deleted=True)
            numbers = {version.pk: version.number for version in versions}
            old.number, new.number = numbers.get(old.pk), numbers.get(new.pk)
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
                        source=MembershipSource.ADMIN,
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


def _page_number(value):
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1
