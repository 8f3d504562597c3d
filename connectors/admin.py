"""The GitHub connector in the Django admin: accounts, instances with their targets, targets with their
mappings and sync history, mappings, and sync events. Forms apply the services' field rules; actions call
the services as the admin user (tenancy's admin_principal)."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.services import accounts, instances, sync_events, targets
from connectors.services.validation import (
    validate_branch,
    validate_positive_id,
    validate_repository_full_name,
    validate_selector,
)
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    ReadOnlyOrganizationScopedInline,
    apply_to_selected,
    foreign_organization_errors,
)

SYNC_HISTORY_ROWS = 50


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


class ParentOrganizationFormSet(BaseInlineFormSet):
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


class ConnectorMappingInline(OrganizationScopedInline):
    model = ConnectorMapping
    form = ValidatedMappingForm
    formset = MappingFormSet
    fields = ["position", "selector", "object_type", "plugin", "auto_add_to_plugin"]
    extra = 0
    verbose_name_plural = "mappings (the first matching one wins)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plugin")


class NewestSyncEventsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # A busy target has thousands of events; the page shows the newest, the changelist has the rest.
        return super().get_queryset()[:SYNC_HISTORY_ROWS]


class SyncEventInline(ReadOnlyOrganizationScopedInline):
    """The target's sync history, newest first and read-only."""

    model = SyncEvent
    formset = NewestSyncEventsFormSet
    fields = ["created_at", "event_type", "trigger", "status", "head_sha", "attempts", "next_attempt_at",
              "finished_at", "summary", "error"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = f"sync history (newest {SYNC_HISTORY_ROWS} first)"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at", "-id")


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
              "display_name", "status", "created_by", "created_at", "updated_at", "disconnected_at"]
    readonly_fields = ["id", "provider", "status", "created_by", "created_at", "updated_at",
                       "disconnected_at"]
    list_display = ["__str__", "installation_id", "account_login", "status", "organization", "created_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["account_login", "display_name", "installation_id"]
    actions = ["disconnect_selected"]

    def has_delete_permission(self, request, obj=None):
        return False  # instances depend on it; disconnect it instead

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
    fields = ["id", "organization", "account", "name", "description", "status", "last_synced_at",
              "last_sync_status", "last_sync_revision", "created_by", "created_at", "updated_at"]
    readonly_fields = ["id", "status", "last_synced_at", "last_sync_status", "last_sync_revision",
                       "created_by", "created_at", "updated_at"]
    list_display = ["name", "account", "status", "last_synced_at", "last_sync_status", "organization"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "account"]
    search_fields = ["name", "description"]
    inlines = [ConnectorTargetInline]
    actions = ["disable_selected", "enable_selected", "archive_selected"]

    def has_delete_permission(self, request, obj=None):
        return False  # deleting is checked (no synced objects, no running sync): through the API

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


@admin.register(ConnectorTarget)
class ConnectorTargetAdmin(OrganizationScopedAdmin):
    """Repository branches with their mappings and their sync history."""

    form = TargetForm
    fields = ["id", "organization", "instance", "repository_id", "repository_full_name", "branch", "ref",
              "status", "disabled_reason", "last_synced_at", "last_synced_sha", "created_at", "updated_at"]
    readonly_fields = ["id", "ref", "last_synced_at", "last_synced_sha", "created_at", "updated_at"]
    list_display = ["__str__", "instance", "status", "last_synced_at", "last_synced_sha", "organization"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "instance"]
    search_fields = ["repository_full_name", "branch", "instance__name"]
    inlines = [ConnectorMappingInline, SyncEventInline]
    actions = ["resync_selected"]

    def has_delete_permission(self, request, obj=None):
        return False  # a target is disabled, not deleted: its bindings are the provenance of config objects

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


@admin.register(SyncEvent)
class SyncEventAdmin(OrganizationScopedAdmin):
    """Sync events: read-only history; failed or partial ones can be retried."""

    fields = ["id", "organization", "target", "event_type", "trigger", "delivery_id", "head_sha", "status",
              "attempts", "next_attempt_at", "lease_expires_at", "started_at", "finished_at", "summary",
              "error", "created_by", "created_at", "updated_at"]
    readonly_fields = fields
    list_display = ["id", "target", "event_type", "trigger", "status", "attempts", "head_sha", "created_at",
                    "finished_at", "organization"]
    list_filter = ["status", "event_type", "trigger", "organization"]
    list_select_related = ["organization", "target"]
    search_fields = ["id", "head_sha", "delivery_id", "target__repository_full_name"]
    date_hierarchy = "created_at"
    actions = ["retry_selected"]

    def has_add_permission(self, request):
        return False  # events come from webhooks, resyncs and the reconciler

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return self.has_view_permission(request)

    @admin.action(description="Retry selected failed or partial events", permissions=["retry"])
    def retry_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, sync_events.retry_sync_event, "Requeued", "sync event")
