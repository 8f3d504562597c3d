"""Inbound webhook deliveries, read-only, for superusers: a delivery is not org-scoped (it may touch many)."""

import json

from django.contrib import admin
from django.utils.html import format_html
from unfold.admin import ModelAdmin as ThemedModelAdmin

from plexica.adminsite.badges import badge, status_badge
from webhooks.inbound.models import WebhookDelivery
from webhooks.outbound import admin_endpoints  # noqa: F401
from webhooks.outbound import admin_messages  # noqa: F401

BODY_PREVIEW_BYTES = 64 * 1024


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ThemedModelAdmin):
    list_display = ["delivery_id", "provider", "event", "action", "status_badge", "signature", "result_summary",
                    "error_summary", "received_at"]
    list_filter = ["provider", "status", "event"]
    search_fields = ["delivery_id", "event", "body_sha256"]
    date_hierarchy = "received_at"
    fields = ["provider", "delivery_id", "event", "action", "status_badge", "signature", "received_at",
              "processed_at", "result_pretty", "error", "headers_pretty", "body_sha256", "body_preview"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Bodies may be megabytes; only the detail page reads one.
        return super().get_queryset(request).defer("body")

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery):
        return status_badge(delivery.status, delivery.get_status_display())

    @admin.display(description="signature", ordering="signature_valid")
    def signature(self, delivery):
        return badge("valid", "green") if delivery.signature_valid else badge("invalid", "red")

    @admin.display(description="result")
    def result_summary(self, delivery):
        result = delivery.result or {}
        if "queued" in result:
            text = f"queued {result['queued']}"
            return f"{text}: {result['reason']}" if result.get("reason") else text
        return result.get("reason", "")

    @admin.display(description="error")
    def error_summary(self, delivery):
        return delivery.error[:120]

    @admin.display(description="result")
    def result_pretty(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(delivery.result, indent=2, sort_keys=True))

    @admin.display(description="headers")
    def headers_pretty(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(delivery.headers, indent=2, sort_keys=True))

    @admin.display(description="body")
    def body_preview(self, delivery):
        raw = bytes(delivery.body or b"")
        text = raw[:BODY_PREVIEW_BYTES].decode("utf-8", errors="replace")
        try:
            text = json.dumps(json.loads(raw), indent=2) if len(raw) <= BODY_PREVIEW_BYTES else text
        except ValueError:
            pass
        suffix = f"\n… ({len(raw)} bytes in all)" if len(raw) > BODY_PREVIEW_BYTES else ""
        return format_html("<pre>{}{}</pre>", text, suffix)

    def _superuser(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._superuser(request)

    def has_add_permission(self, request):
        return False  # deliveries come only from the ingress

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a record of what a provider sent: no "Delete selected", no delete button

    def get_actions(self, request):
        return {}  # nothing to do to a delivery in bulk
