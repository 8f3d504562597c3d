"""Admin of the organization's webhook endpoints, through the endpoint services (the API's rules and words).

The list shows each endpoint's URL, filters, state (with the reason it is disabled), ordering and failing run.
Adding one validates the URL with the webhook network policy and shows the generated secret once, on the
page after saving (rendered, never put in a message: messages live in a cookie or the session). The
endpoint page has buttons to send a test event, rotate the secret (the new one shown once), and enable or
disable it. Deleting is soft and cancels the endpoint's open messages.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path
from django.utils.html import format_html, format_html_join

from plexica.adminsite.badges import badge
from plexica.adminsite.display import person_name
from plexica.errors import DomainError
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    admin_principal,
    admin_url,
    apply_to_selected,
    short_time,
)
from webhooks.outbound import endpoints
from webhooks.outbound.models import WebhookEndpoint

REASON_LABELS = {
    WebhookEndpoint.DisabledReason.MANUAL: "disabled by a person",
    WebhookEndpoint.DisabledReason.GONE: "disabled: answered 410 Gone",
    WebhookEndpoint.DisabledReason.FAILING: "disabled: failing too long",
}


def state_badge(endpoint):
    """Enabled, Disabled (with its reason) or Deleted."""
    if endpoint.deleted_at is not None:
        return badge("Deleted", "grey")
    if endpoint.enabled:
        return badge("Enabled", "green")
    reason = REASON_LABELS.get(endpoint.disabled_reason, "disabled")
    return badge(reason[0].upper() + reason[1:], "yellow" if endpoint.disabled_reason == "manual" else "red")


def parse_event_list(text):
    """The filters of a comma- or line-separated list, blanks dropped."""
    return [part.strip() for line in (text or "").splitlines() for part in line.split(",") if part.strip()]


class WebhookEndpointForm(forms.ModelForm):
    """The URL and the filters are checked by the endpoint services' own rules, so a form names the field
    they refuse; saving goes through the services (which check again)."""

    url = forms.CharField(
        label="URL", max_length=endpoints.MAX_URL_LENGTH, widget=forms.URLInput(attrs={"size": 80}),
        help_text="Absolute http(s) URL. Its host must resolve to public addresses; private and loopback ones "
                  "only inside WEBHOOK_ALLOWED_NETWORKS; link-local and metadata addresses never.",
    )
    events = forms.CharField(
        label="Events", widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Event type filters, one per line or separated by commas: config_object.created, "
                  "config_object.* (a prefix), *.created, or * for every event. At most 50.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "description", "ordered"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.setdefault("url", self.instance.url)
            self.initial.setdefault("events", "\n".join(self.instance.event_types or []))

    def _get_validation_exclusions(self):
        # The URL is judged by the endpoint rules (single-label hosts included), not by URLField's pattern.
        return {*super()._get_validation_exclusions(), "url"}

    def clean_url(self):
        url = self.cleaned_data["url"]
        if self.instance.pk and url == self.instance.url:
            return url  # unchanged: the services do not judge it again either
        problem = endpoints.url_error(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_events(self):
        cleaned, problem = endpoints.event_filters_error(parse_event_list(self.cleaned_data["events"]))
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


class EndpointStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("enabled", "Enabled"), ("disabled", "Disabled"), ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        live = queryset.filter(deleted_at__isnull=True)  # deleted endpoints only when asked for
        if self.value() in ("enabled", "disabled"):
            return live.filter(enabled=self.value() == "enabled")
        return live


class WebhookEndpointAdmin(OrganizationScopedAdmin):
    """Webhook endpoints of each organization; every change goes through webhooks.outbound.endpoints."""

    form = WebhookEndpointForm
    add_fields = ["organization", "url", "events", "description", "ordered"]
    change_fields = ["id", "organization", "url", "events", "description", "ordered", "state", "owner",
                     "failing_since", "disabled_at", "secret_state", "created_by_name", "created_at", "updated_at",
                     "deleted_at"]
    readonly_after_creation = ["id", "state", "owner", "failing_since", "disabled_at", "secret_state",
                               "created_by_name", "created_at", "updated_at", "deleted_at"]
    list_display = ["endpoint", "event_list", "state", "ordered", "failing", "owner", "organization", "created"]
    list_filter = [EndpointStateFilter, "ordered", "organization"]
    list_select_related = ["organization", "plugin", "created_by"]
    search_fields = ["url", "description", "id"]
    ordering = ["-created_at", "id"]
    actions = ["enable_selected", "disable_selected"]
    change_form_template = "admin/webhooks/webhookendpoint/change_form.html"

    def get_queryset(self, request):
        # Secrets are decrypted on load: the list has no use for them.
        return super().get_queryset(request).select_related("organization", "plugin", "created_by")

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.deleted_at is not None:
            return self.change_fields
        return self.readonly_after_creation

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    # Columns and read-only fields

    @admin.display(description="endpoint", ordering="url")
    def endpoint(self, obj):
        if obj.description:
            return format_html('{}<br><code class="plexica-subtle">{}</code>', obj.description, obj.url)
        return format_html("<code>{}</code>", obj.url)

    @admin.display(description="events")
    def event_list(self, obj):
        return format_html_join(" ", "<code>{}</code>", ((value,) for value in obj.event_types or []))

    @admin.display(description="state", ordering="enabled")
    def state(self, obj):
        return state_badge(obj)

    @admin.display(description="failing since", ordering="failing_since")
    def failing(self, obj):
        return short_time(obj.failing_since, empty="-")

    @admin.display(description="owner")
    def owner(self, obj):
        if obj.plugin_id:
            return format_html("Plugin {} (<code>{}</code>)", obj.plugin.name, obj.plugin.plugin_id)
        return "The organization"

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return short_time(obj.created_at)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person_name(obj.created_by) if obj.created_by_id else "a key or the system"

    @admin.display(description="secret")
    def secret_state(self, obj):
        until = endpoints.previous_secret_valid_until(obj)
        if until is None:
            return "Shown once when created or rotated; stored encrypted."
        return format_html("Rotated: the previous secret still signs deliveries until {}.", short_time(until))

    # Adding and changing, through the services

    def add_view(self, request, form_url="", extra_context=None):
        # Saving always leads to the secret page, so the "save and ..." variants would mislead.
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False,
                         "show_save_and_continue": False}
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        principal = admin_principal(request, obj.organization)
        data = form.cleaned_data
        if change:
            endpoints.update_endpoint(principal, obj.pk, url=data["url"], events=data["events"],
                                      description=data["description"], ordered=data["ordered"])
            obj.refresh_from_db()
            return
        endpoint, secret = endpoints.create_endpoint(principal, url=data["url"], events=data["events"],
                                                     description=data["description"], ordered=data["ordered"])
        obj.pk = endpoint.pk
        obj._state.adding = False
        obj.refresh_from_db()
        obj._secret_to_show = secret

    def save_related(self, request, form, formsets, change):
        pass  # no relations are edited here, and form.save_m2m() would write the form's instance

    def response_add(self, request, obj, post_url_continue=None):
        secret = obj.__dict__.pop("_secret_to_show", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret, "Webhook endpoint created")

    def _secret_page(self, request, endpoint, secret, title):
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request), "title": title, "opts": self.opts, "endpoint": endpoint,
            "secret": secret, "changelist_url": admin_url("webhooks_webhookendpoint_changelist"),
            "change_url": admin_url("webhooks_webhookendpoint_change", endpoint.pk),
        }
        return TemplateResponse(request, "admin/webhooks/webhookendpoint/secret.html", context)

    def get_deleted_objects(self, objs, request):
        # Deleting is soft and keeps the messages and attempts: the confirmation names only the endpoints
        # (Django's would list, and load, every message that a hard delete would cascade to).
        objs = list(objs)
        return [format_html("<code>{}</code> {}", obj.url, obj.description) for obj in objs], \
            {self.opts.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj):
        endpoints.delete_endpoint(admin_principal(request, obj.organization), obj.pk)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset.filter(deleted_at__isnull=True).select_related("organization"):
            endpoints.delete_endpoint(admin_principal(request, endpoint.organization), endpoint.pk)

    # The endpoint page's buttons

    def get_urls(self):
        action = path("<path:object_id>/actions/", self.admin_site.admin_view(self.action_view),
                      name="webhooks_webhookendpoint_action")
        return [action, *super().get_urls()]  # before the "<path:object_id>/" catch-all

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context.update({
                "action_url": admin_url("webhooks_webhookendpoint_action", obj.pk),
                "state_html": state_badge(obj), "endpoint": obj, "messages_url": _messages_url(obj),
                "can_act": obj.deleted_at is None and self.has_change_permission(request, obj),
            })
        return super().render_change_form(request, context, add, change, form_url, obj)

    def action_view(self, request, object_id):
        """POST `action`: test, rotate, enable or disable, through the endpoint services as the admin user."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None or endpoint.deleted_at is not None:
            raise Http404(f"No webhook endpoint {object_id}.")
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        back = admin_url("webhooks_webhookendpoint_change", endpoint.pk)
        if request.method != "POST":
            return HttpResponseRedirect(back)
        principal = admin_principal(request, endpoint.organization)
        action = request.POST.get("action")
        try:
            if action == "test":
                event = endpoints.send_test_event(principal, endpoint.pk)
                self.message_user(request, f"Sent a test event ({event.public_id}) to {endpoint}: its delivery "
                                           "shows among the endpoint's messages in a moment.", messages.SUCCESS)
            elif action == "rotate":
                endpoint, secret = endpoints.rotate_secret(principal, endpoint.pk)
                return self._secret_page(request, endpoint, secret, "Webhook secret rotated")
            elif action in ("enable", "disable"):
                endpoints.set_enabled(principal, endpoint.pk, action == "enable")
                self.message_user(request, f"{action.capitalize()}d {endpoint}.", messages.SUCCESS)
            else:
                self.message_user(request, "Pick one of the buttons of the endpoint page.", messages.WARNING)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)
        return HttpResponseRedirect(back)

    @admin.action(description="Enable selected webhook endpoints", permissions=["change"])
    def enable_selected(self, request, queryset):
        apply_to_selected(self, request, queryset.filter(deleted_at__isnull=True),
                          lambda principal, pk: endpoints.set_enabled(principal, pk, True), "Enabled",
                          "webhook endpoint")

    @admin.action(description="Disable selected webhook endpoints", permissions=["change"])
    def disable_selected(self, request, queryset):
        apply_to_selected(self, request, queryset.filter(deleted_at__isnull=True),
                          lambda principal, pk: endpoints.set_enabled(principal, pk, False), "Disabled",
                          "webhook endpoint")


def _messages_url(endpoint):
    """The endpoint's messages in the message admin, when it is installed."""
    try:
        return admin_url("webhooks_webhookmessage_changelist", query={"endpoint__id__exact": endpoint.pk})
    except NoReverseMatch:
        return None


admin.site.register(WebhookEndpoint, WebhookEndpointAdmin)
