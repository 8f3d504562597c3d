"""The GitHub connector in the Django admin: accounts, instances with their targets, targets with their
mappings, sync history, last error and a retry button, mappings, and sync events. Forms apply the services'
field rules; actions and buttons call the services as the admin user (tenancy's admin_principal). Statuses
are badges; relations are picked with autocompletes of the organization's rows.

The config object page's "Source" panel (the repository file an object was synced from) comes from here too
(config_object_source, registered from ConnectorsConfig.ready()): marketplaces may not import connectors.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Subquery
from django.http import Http404, HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from unfold.forms import PaginationInlineFormSet

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SourceBinding,
    SyncEvent,
)
from connectors.services import accounts, instances, sync_events, targets
from connectors.services.validation import (
    validate_branch,
    validate_positive_id,
    validate_repository_full_name,
    validate_selector,
)
from marketplaces.admin_widgets import PreloadedAutocompleteInlineMixin
from marketplaces.config_objects.admin import plugin_label
from plexica.adminsite.badges import badge, status_badge
from plexica.adminsite.display import short_person_name as person
from plexica.errors import DomainError
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    admin_principal,
    admin_url,
    apply_to_selected,
    foreign_organization_errors,
)

SYNC_HISTORY_ROWS = 50
INLINE_ROWS_PER_PAGE = 25
BINDING_ROWS = 20
SYNC_TONES = {"completed": "green", "partial": "yellow", "ignored": "grey"}


def sync_badge(status, label=None):
    """The badge of a sync event status (completed green, partial yellow, failed red, queued blue...)."""
    if not status:
        return "-"
    label = label or dict(SyncEvent.Status.choices).get(status, str(status).capitalize())
    return badge(label, SYNC_TONES[status]) if status in SYNC_TONES else status_badge(status, label)


def _when(moment):
    return localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _summary_text(summary):
    """"3 created, 1 updated" from a sync summary's counts."""
    counts = [(name, summary.get(name)) for name in ("created", "updated", "deleted", "skipped")]
    return ", ".join(f"{count} {name}" for name, count in counts if isinstance(count, int) and count) or "-"


class ValidatedTargetForm(forms.ModelForm):
    """The API's rules for a target's repository and branch."""

    def clean_repository_id(self):
        value = self.cleaned_data["repository_id"]
        validate_positive_id(value)
        return value

    def clean_repository_full_name(self):
        value = self.cleaned_data["repository_full_name"]
        validate_repository_full_name(value)
        return value

    def clean_branch(self):
        value = self.cleaned_data["branch"]
        validate_branch(value)
        return value


class ValidatedMappingForm(forms.ModelForm):
    """The API's rules for a mapping: a relative glob, and a plugin when objects are added to it."""

    def clean_selector(self):
        value = self.cleaned_data["selector"]
        validate_selector(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("auto_add_to_plugin") and not cleaned.get("plugin"):
            self.add_error("auto_add_to_plugin", "Needs a plugin to add the objects to.")
        return cleaned


class ParentOrganizationFormSet(PaginationInlineFormSet):
    """Rows added inline belong to the parent's organization; their related picks must too."""

    org_scoped_fields = ()

    def clean(self):
        super().clean()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            errors = foreign_organization_errors(self.instance.organization_id, form.cleaned_data,
                                                 self.org_scoped_fields)
            for message in errors.values():
                form.add_error(None, message)

    def save_new(self, form, commit=True):
        form.instance.organization_id = self.instance.organization_id
        return super().save_new(form, commit=commit)


class MappingFormSet(ParentOrganizationFormSet):
    org_scoped_fields = ("plugin",)


class ConnectorMappingInline(PreloadedAutocompleteInlineMixin, OrganizationScopedInline):
    model = ConnectorMapping
    form = ValidatedMappingForm
    formset = MappingFormSet
    fields = ["position", "selector", "object_type", "plugin", "auto_add_to_plugin"]
    autocomplete_fields = ["plugin"]
    autocomplete_labels = {"plugin": plugin_label}
    extra = 0
    per_page = INLINE_ROWS_PER_PAGE
    verbose_name_plural = "mappings (the first matching one wins)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plugin")


class ConnectorTargetInline(OrganizationScopedInline):
    model = ConnectorTarget
    form = ValidatedTargetForm
    formset = ParentOrganizationFormSet
    fields = ["repository_id", "repository_full_name", "branch", "status", "last_synced_at",
              "last_synced_sha"]
    readonly_fields = ["last_synced_at", "last_synced_sha"]
    extra = 0
    can_delete = False  # a target is disabled, not deleted: its bindings are the provenance of config objects
    show_change_link = True
    per_page = INLINE_ROWS_PER_PAGE


class InstanceForm(forms.ModelForm):
    class Meta:
        model = ConnectorInstance
        fields = ["organization", "account", "name", "description"]


class TargetForm(ValidatedTargetForm):
    class Meta:
        model = ConnectorTarget
        fields = ["organization", "instance", "repository_id", "repository_full_name", "branch", "status",
                  "disabled_reason"]


class MappingForm(ValidatedMappingForm):
    class Meta:
        model = ConnectorMapping
        fields = ["organization", "target", "position", "selector", "object_type", "plugin",
                  "auto_add_to_plugin"]


class AccountForm(forms.ModelForm):
    class Meta:
        model = ConnectorAccount
        fields = ["organization", "installation_id", "account_login", "account_type", "display_name"]

    def clean_installation_id(self):
        value = self.cleaned_data["installation_id"]
        validate_positive_id(value)
        return value

    def clean(self):
        # The unique constraint names `provider`, which the form leaves out, so the form would not check it.
        cleaned = super().clean()
        installation_id, organization = cleaned.get("installation_id"), cleaned.get("organization")
        holder = None
        if installation_id:
            holder = (ConnectorAccount.objects.filter(provider=self.instance.provider,
                                                      installation_id=installation_id)
                      .exclude(pk=self.instance.pk).first())
        if holder is not None:
            where = "this" if organization and holder.organization_id == organization.pk else "another"
            self.add_error("installation_id", f"This installation is connected to {where} organization.")
        return cleaned


@admin.register(ConnectorAccount)
class ConnectorAccountAdmin(OrganizationScopedAdmin):
    """GitHub App installations connected to each organization."""

    form = AccountForm
    fields = ["id", "organization", "provider", "installation_id", "account_login", "account_type",
              "display_name", "status_badge", "created_by_name", "created_at", "updated_at", "disconnected_at"]
    readonly_fields = ["id", "provider", "status_badge", "created_by_name", "created_at", "updated_at",
                       "disconnected_at"]
    list_display = ["__str__", "installation_id", "account_login", "status_badge", "organization", "created_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["account_login", "display_name", "installation_id"]
    autocomplete_fields = ["organization"]
    actions = ["disconnect_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "created_by")

    def has_delete_permission(self, request, obj=None):
        return False  # instances depend on it; disconnect it instead

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person(obj.created_by)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Disconnect selected accounts", permissions=["change"])
    def disconnect_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, accounts.disconnect_account, "Disconnected", "account")


@admin.register(ConnectorInstance)
class ConnectorInstanceAdmin(OrganizationScopedAdmin):
    """Connector instances and the repository branches (targets) they sync."""

    form = InstanceForm
    fields = ["id", "organization", "account", "name", "description", "status_badge", "last_synced_at",
              "last_sync_badge", "last_sync_revision", "created_by_name", "created_at", "updated_at"]
    readonly_fields = ["id", "status_badge", "last_synced_at", "last_sync_badge", "last_sync_revision",
                       "created_by_name", "created_at", "updated_at"]
    list_display = ["name", "account", "status_badge", "last_synced_at", "last_sync_badge", "organization"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "account"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["organization", "account"]
    inlines = [ConnectorTargetInline]
    actions = ["disable_selected", "enable_selected", "archive_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "account", "created_by")

    def has_delete_permission(self, request, obj=None):
        return False  # deleting is checked (no synced objects, no running sync): through the API

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="last sync", ordering="last_sync_status")
    def last_sync_badge(self, obj):
        return sync_badge(obj.last_sync_status)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person(obj.created_by)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.provider = obj.account.provider
        super().save_model(request, obj, form, change)

    @admin.action(description="Disable selected instances", permissions=["change"])
    def disable_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, instances.disable_instance, "Disabled", "instance")

    @admin.action(description="Enable selected instances", permissions=["change"])
    def enable_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, instances.enable_instance, "Enabled", "instance")

    @admin.action(description="Archive selected instances", permissions=["change"])
    def archive_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, instances.archive_instance, "Archived", "instance")


def _latest_event(field):
    newest = SyncEvent.objects.filter(target=OuterRef("pk")).order_by("-created_at", "-id")
    return Subquery(newest.values(field)[:1])


@admin.register(ConnectorTarget)
class ConnectorTargetAdmin(OrganizationScopedAdmin):
    """Repository branches: their mappings, their sync history newest first, the last error, and buttons that
    retry the last failed sync or resync the branch (the services' checks and messages, as the API's)."""

    form = TargetForm
    fields = ["id", "organization", "instance", "repository_id", "repository_full_name", "branch", "ref",
              "status", "disabled_reason", "last_synced_at", "last_synced_sha", "created_at", "updated_at"]
    readonly_fields = ["id", "ref", "last_synced_at", "last_synced_sha", "created_at", "updated_at"]
    list_display = ["__str__", "instance", "status_badge", "latest_sync_badge", "last_synced_at",
                    "short_sha", "organization"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "instance"]
    search_fields = ["repository_full_name", "branch", "instance__name"]
    autocomplete_fields = ["organization", "instance"]
    inlines = [ConnectorMappingInline]
    actions = ["resync_selected"]
    change_form_template = "admin/connectors/connectortarget/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_sync_status=_latest_event("status"))

    def has_delete_permission(self, request, obj=None):
        return False  # a target is disabled, not deleted: its bindings are the provenance of config objects

    def get_urls(self):
        retry = path("<path:object_id>/retry/", self.admin_site.admin_view(self.retry_view),
                     name="connectors_connectortarget_retry")
        return [retry, *super().get_urls()]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="last synced SHA", ordering="last_synced_sha")
    def short_sha(self, obj):
        sha = obj.last_synced_sha
        return format_html("<code title=\"{}\">{}</code>", sha, sha[:10]) if sha else "-"

    @admin.display(description="latest sync", ordering="latest_sync_status")
    def latest_sync_badge(self, obj):
        return sync_badge(getattr(obj, "latest_sync_status", None))

    def _history(self, obj):
        """The newest events of `obj` and how many it has (cached per object: two panels read them)."""
        cached = getattr(obj, "_admin_history", None)
        if cached is None:
            events = list(SyncEvent.objects.filter(target=obj).select_related("created_by")
                          .order_by("-created_at", "-id")[:SYNC_HISTORY_ROWS])
            # Always the same two queries (not only when the page is full), so the page's cost is flat.
            total = SyncEvent.objects.filter(target=obj).count()
            last_error = (SyncEvent.objects.filter(target=obj).exclude(error="")
                          .order_by("-created_at", "-id").first())
            cached = obj._admin_history = (events, total, last_error)
        return cached

    def last_sync(self, obj):
        events, _total, last_error = self._history(obj)
        if not events:
            summary = mark_safe("<p id=\"last-sync\">Never synced yet.</p>")
        else:
            latest = events[0]
            summary = format_html(
                "<p id=\"last-sync\">{} {} · {} ({}) · {} attempt{}{}</p>", sync_badge(latest.status),
                _when(latest.finished_at or latest.created_at), latest.get_event_type_display(),
                latest.get_trigger_display(), latest.attempts, "" if latest.attempts == 1 else "s",
                format_html(" · head <code>{}</code>", latest.head_sha[:12]) if latest.head_sha else "")
        error = ""
        if last_error is not None:
            still = events and events[0].pk == last_error.pk
            error = format_html(
                "<div id=\"last-error\"><strong>Last error</strong> ({}, {}{}):"
                "<pre class=\"plexica-error-text\">{}</pre></div>",
                _when(last_error.finished_at or last_error.created_at), last_error.get_status_display().lower(),
                "" if still else "; a later sync ran since", last_error.error)
        buttons = []
        retryable = events and events[0].status in sync_events.RETRYABLE_STATUSES
        if retryable:
            buttons.append(format_html(
                "<button type=\"submit\" form=\"target-retry-form\" name=\"event\" value=\"{}\" "
                "class=\"plexica-button primary\" id=\"target-retry-button\">Retry this sync</button>",
                events[0].pk))
        buttons.append(mark_safe(
            "<button type=\"submit\" form=\"target-retry-form\" name=\"resync\" value=\"1\" "
            "class=\"plexica-button\" id=\"target-resync-button\">Resync the branch now</button>"))
        return format_html("{}{}<div class=\"plexica-buttons\">{}</div>", summary, error,
                           format_html_join("", "{}", ((b,) for b in buttons)))

    def sync_history(self, obj):
        events, total, _ = self._history(obj)
        if not events:
            return "No syncs yet."
        rows = format_html_join("", (
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
            "<td>{}</td><td>{}</td><td>{}</td><td class=\"plexica-error-cell\">{}</td></tr>"), (
            (admin_url("connectors_syncevent_change", e.pk), _when(e.created_at), e.get_event_type_display(),
             e.get_trigger_display(), sync_badge(e.status), e.head_sha[:10] or "-", e.attempts, _when(e.finished_at),
             _summary_text(e.summary or {}), (e.error[:200] + ("…" if len(e.error) > 200 else "")) or "-")
            for e in events))
        all_url = admin_url("connectors_syncevent_changelist", query={"target__id__exact": obj.pk})
        more = (format_html("<p>The newest {} of {} syncs; <a href=\"{}\">all of them</a>.</p>",
                            len(events), total, all_url) if total > len(events) else "")
        return format_html(
            "<table class=\"plexica-table\" id=\"sync-history\"><thead><tr><th>queued</th><th>event</th>"
            "<th>trigger</th><th>status</th><th>head</th><th>attempts</th><th>finished</th><th>files</th>"
            "<th>error</th></tr></thead><tbody>{}</tbody></table>{}", rows, more)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            # Panels of the page (full width, after the fields); their buttons submit the retry form.
            context.update({"retry_url": admin_url("connectors_connectortarget_retry", obj.pk),
                            "last_sync_html": self.last_sync(obj), "sync_history_html": self.sync_history(obj)})
        return super().render_change_form(request, context, add, change, form_url, obj)

    def retry_view(self, request, object_id):
        """POST: retry the target's failed or partial sync event (`event`), or queue a resync of its branch
        (`resync`), through the connectors services as the admin user: the API's checks and messages."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        target = self.get_object(request, unquote(object_id))
        if target is None:
            raise Http404(f"No connector target {object_id}.")
        if not self.has_change_permission(request, target):
            raise PermissionDenied
        back = admin_url("connectors_connectortarget_change", target.pk)
        if request.method != "POST":
            return HttpResponseRedirect(back)
        principal = admin_principal(request, target.organization)
        event_id = request.POST.get("event")
        try:
            if event_id:
                if not SyncEvent.objects.filter(target=target, pk=event_id).exists():
                    raise Http404(f"No sync event {event_id} of {target}.")
                event = sync_events.retry_sync_event(principal, event_id)
                self.message_user(request, f"Requeued the sync {event.pk} of {target}: it runs again shortly.",
                                  messages.SUCCESS)
            else:
                event = targets.resync_target(principal, target.pk)
                self.message_user(request, f"Queued a resync of {target} ({event.pk}).", messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)
        return HttpResponseRedirect(back)

    @admin.action(description="Resync selected targets", permissions=["change"])
    def resync_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, targets.resync_target, "Queued a resync of", "target")


@admin.register(ConnectorMapping)
class ConnectorMappingAdmin(OrganizationScopedAdmin):
    """Path globs that turn repository files into config objects."""

    form = MappingForm
    fields = ["id", "organization", "target", "position", "selector", "object_type", "plugin",
              "auto_add_to_plugin", "created_at", "updated_at"]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_display = ["selector", "object_type", "plugin", "auto_add_to_plugin", "target", "position",
                    "organization"]
    list_filter = ["object_type", "organization"]
    list_select_related = ["organization", "target", "plugin"]
    search_fields = ["selector", "target__repository_full_name"]
    autocomplete_fields = ["organization", "target", "plugin"]


@admin.register(SyncEvent)
class SyncEventAdmin(OrganizationScopedAdmin):
    """Sync events: read-only history (no Save, no delete); failed or partial ones can be retried."""

    fields = ["id", "organization", "target", "event_type", "trigger", "delivery_id", "head_sha", "status_badge",
              "attempts", "next_attempt_at", "lease_expires_at", "started_at", "finished_at", "summary",
              "error", "created_by_name", "created_at", "updated_at"]
    readonly_fields = fields
    list_display = ["__str__", "target", "trigger", "status_badge", "attempts", "created_at", "finished_at",
                    "organization"]
    list_filter = ["status", "event_type", "trigger", "organization"]
    list_select_related = ["organization", "target"]
    search_fields = ["id", "head_sha", "delivery_id", "target__repository_full_name"]
    date_hierarchy = "created_at"
    actions = ["retry_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "target", "created_by")

    def has_add_permission(self, request):
        return False  # events come from webhooks, resyncs and the reconciler

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return self.has_view_permission(request)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return sync_badge(obj.status, obj.get_status_display())

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person(obj.created_by)

    @admin.action(description="Retry selected failed or partial events", permissions=["retry"])
    def retry_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, sync_events.retry_sync_event, "Requeued", "sync event")


# The config object page's "Source" panel (registered from ConnectorsConfig.ready())


def config_object_source(request, obj):
    """Where a config object comes from: its repository bindings (path, target, mapping, last revision), open
    first; or that it is edited here."""
    bindings = list(SourceBinding.objects.filter(organization_id=obj.organization_id, config_object=obj)
                    .select_related("target__instance", "mapping")
                    .order_by(F("closed_at").desc(nulls_first=True), "-updated_at")[:BINDING_ROWS])
    if not bindings:
        return format_html("<p id=\"source-none\">{}</p>", "No connector binding: this object is edited here "
                           "or imported, not synced from a repository.")
    rows = format_html_join("", (
        "<tr><td><code>{}</code></td><td><a href=\"{}\">{}</a><br><span class=\"plexica-subtle\">{}</span></td>"
        "<td>{}</td><td><code>{}</code></td><td>{}</td></tr>"), (
        (b.path, admin_url("connectors_connectortarget_change", b.target_id), b.target, b.target.instance.name,
         b.mapping.selector if b.mapping else "-", b.last_seen_revision[:12] or "-",
         badge("closed " + _when(b.closed_at), "grey") if b.closed_at else badge("synced", "green"))
        for b in bindings))
    return format_html(
        "<table class=\"plexica-table\" id=\"source-bindings\"><thead><tr><th>path</th><th>repository</th>"
        "<th>mapping</th><th>revision</th><th>state</th></tr></thead><tbody>{}</tbody></table>", rows)


from connectors.integrations import admin as integrations_admin  # noqa: F401  (registers its admins)
