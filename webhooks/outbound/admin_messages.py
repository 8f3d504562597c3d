"""Admin of outbound webhook messages and their attempts, scoped to the organizations one administers.

A message is a record (no add, change or delete); its page lists its attempts with their outcome and has
a Redeliver button. The list redelivers the selected messages, and "Recover failed messages…" opens a small
form that sends every failed message of an endpoint since a time again. Both go through
webhooks.outbound.messages as the admin user, with the API's checks and messages.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from plexica.adminsite.badges import badge, status_badge
from plexica.errors import DomainError
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    ReadOnlyOrganizationScopedInline,
    admin_principal,
    admin_url,
    short_time,
)
from webhooks.outbound import messages as message_services
from webhooks.outbound.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

MESSAGE_TONES = {"pending": "blue", "sending": "blue", "succeeded": "green", "failed": "red", "cancelled": "grey"}


def message_badge(status, label=None):
    return badge(label or str(status).capitalize(), MESSAGE_TONES.get(str(status), "grey"))


class WebhookAttemptInline(ReadOnlyOrganizationScopedInline):
    model = WebhookAttempt
    fk_name = "message"
    fields = ["number", "trigger", "outcome_badge", "started_at", "duration_ms", "status_code", "error",
              "response_preview"]
    readonly_fields = fields
    ordering = ["-number"]
    verbose_name_plural = "attempts (newest first)"

    @admin.display(description="outcome")
    def outcome_badge(self, attempt):
        return status_badge(attempt.outcome, attempt.get_outcome_display())

    @admin.display(description="response (first 4 KiB)")
    def response_preview(self, attempt):
        return format_html("<pre class=\"plexica-error-text\">{}</pre>", attempt.response_body[:500]) \
            if attempt.response_body else "-"


class RecoverForm(forms.Form):
    endpoint = forms.ModelChoiceField(queryset=WebhookEndpoint.objects.none(),
                                      help_text="Its failed messages are sent again.")
    since = forms.SplitDateTimeField(widget=forms.SplitDateTimeWidget(date_attrs={"type": "date"},
                                                                      time_attrs={"type": "time"}),
                                     help_text="Failed messages created at or after this time (your time zone).")


@admin.register(WebhookMessage)
class WebhookMessageAdmin(OrganizationScopedAdmin):
    """Messages: what was sent to which endpoint, how it went; redeliver and recover."""

    list_display = ["event_type", "endpoint_link", "status_badge", "attempts", "last_status_code",
                    "next_attempt", "created", "organization"]
    list_filter = ["status", ("endpoint", admin.RelatedOnlyFieldListFilter), "organization"]
    list_select_related = ["organization", "endpoint"]
    search_fields = ["id", "event_type", "event__public_id", "endpoint__url"]
    date_hierarchy = "created_at"
    fields = ["id", "organization", "endpoint", "event_id_text", "event_type", "position", "status_badge",
              "attempts", "next_attempt_at", "lease_expires_at", "last_status_code", "last_error", "created_at",
              "finished_at"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["redeliver_selected", "recover_from_selection"]
    change_form_template = "admin/webhooks/webhookmessage/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "endpoint", "event")

    def has_add_permission(self, request):
        return False  # messages come from the event log's fan-out

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_redeliver_permission(self, request):
        return self.has_view_permission(request)

    def get_urls(self):
        own = [
            path("recover/", self.admin_site.admin_view(self.recover_view), name="webhooks_webhookmessage_recover"),
            path("<path:object_id>/redeliver/", self.admin_site.admin_view(self.redeliver_view),
                 name="webhooks_webhookmessage_redeliver"),
        ]
        return [*own, *super().get_urls()]

    @admin.display(description="endpoint", ordering="endpoint__url")
    def endpoint_link(self, message):
        return format_html("<a href=\"{}\">{}</a>", admin_url("webhooks_webhookendpoint_change", message.endpoint_id),
                           str(message.endpoint)[:60])

    @admin.display(description="status", ordering="status")
    def status_badge(self, message):
        return message_badge(message.status, message.get_status_display())

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, message):
        return short_time(message.next_attempt_at, "-") if message.status == "pending" else "-"

    @admin.display(description="created", ordering="created_at")
    def created(self, message):
        return short_time(message.created_at)

    @admin.display(description="event")
    def event_id_text(self, message):
        return message.event.public_id

    def _redeliver(self, request, message):
        principal = admin_principal(request, message.organization)
        message_services.redeliver(principal, message.endpoint_id, message.pk)

    @admin.action(description="Redeliver selected messages (same webhook-id)", permissions=["redeliver"])
    def redeliver_selected(self, request, queryset):
        done, refused = 0, []
        for message in queryset.select_related("organization"):
            try:
                self._redeliver(request, message)
                done += 1
            except DomainError as exc:
                refused.append(f"{message.pk}: {exc.message}")
        if done:
            self.message_user(request, f"Redelivering {done} message{'s' if done != 1 else ''}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Recover failed messages of this endpoint since…", permissions=["redeliver"])
    def recover_from_selection(self, request, queryset):
        first = queryset.order_by().values_list("endpoint_id", flat=True).first()
        query = {"endpoint": first} if first else None
        return HttpResponseRedirect(admin_url("webhooks_webhookmessage_recover", query=query))

    def redeliver_view(self, request, object_id):
        """POST: redeliver the message now (the page's button)."""
        message = self.get_object(request, unquote(object_id))
        if message is None:
            raise Http404(f"No webhook message {object_id}.")
        back = admin_url("webhooks_webhookmessage_change", message.pk)
        if request.method == "POST":
            try:
                self._redeliver(request, message)
                self.message_user(request, f"Redelivering {message.pk}: a new attempt is on its way.",
                                  messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return HttpResponseRedirect(back)

    def recover_view(self, request):
        """The recover form: an endpoint of the admin's organizations and a time."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        endpoints = WebhookEndpoint.objects.filter(deleted_at__isnull=True).select_related("organization")
        if not self.sees_everything(request):
            endpoints = endpoints.filter(organization__in=self.admin_org_ids(request))
        initial = {"since": timezone.localtime() - timedelta(days=1), "endpoint": request.GET.get("endpoint")}
        form = RecoverForm(request.POST or None, initial=initial)
        form.fields["endpoint"].queryset = endpoints
        if request.method == "POST" and form.is_valid():
            endpoint = form.cleaned_data["endpoint"]
            try:
                count = message_services.recover(admin_principal(request, endpoint.organization), endpoint.pk,
                                                 form.cleaned_data["since"])
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Recovering {count} failed message{'s' if count != 1 else ''} of "
                                           f"{endpoint}.", messages.SUCCESS)
                return HttpResponseRedirect(admin_url("webhooks_webhookmessage_changelist",
                                                      query={"endpoint__id__exact": endpoint.pk}))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Recover failed webhook messages"}
        return TemplateResponse(request, "admin/webhooks/webhookmessage/recover.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context["redeliver_url"] = admin_url("webhooks_webhookmessage_redeliver", obj.pk)
            context["can_redeliver"] = obj.status not in ("cancelled", "sending")
        return super().render_change_form(request, context, add, change, form_url, obj)
