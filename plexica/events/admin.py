"""The event log browser: the organization's events, read-only (the log is written by the changes it records)."""

import json

from django.contrib import admin
from django.db.models import OuterRef, Q, Subquery
from django.utils.html import format_html

from plexica.adminsite.badges import badge
from plexica.events import types
from plexica.events.models import Event
from plexica.tenancy.admin import OrganizationScopedAdmin, admin_url, short_time
from plexica.tenancy.models import ApiKey

CUSTOM = "custom"


class TypePrefixFilter(admin.SimpleListFilter):
    """The platform's type families (`plugin.*`, `config_object.*`...), from the registered types; or the
    custom events (any other type)."""

    title = "type"
    parameter_name = "type_prefix"

    def lookups(self, request, model_admin):
        prefixes = sorted(types.reserved_prefixes())
        return [(prefix, f"{prefix}.*") for prefix in prefixes] + [(CUSTOM, "Custom events")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        prefixes = types.reserved_prefixes()
        if value == CUSTOM:
            platform = Q()
            for prefix in prefixes:
                platform |= Q(type__startswith=f"{prefix}.")
            return queryset.exclude(platform) if prefixes else queryset
        return queryset.filter(type__startswith=f"{value}.")


def is_platform_type(event_type):
    return event_type.split(".", 1)[0] in types.reserved_prefixes()


@admin.register(Event)
class EventAdmin(OrganizationScopedAdmin):
    """Every event of the organization, newest first: what happened, to what, by whom, in which request."""

    list_display = ["occurred", "type_badge", "subject_link", "actor_name", "request_link", "organization"]
    list_display_links = ["occurred"]
    list_filter = [TypePrefixFilter, "actor_type", "organization"]
    search_fields = ["type", "subject_id", "=public_id", "=request_id"]
    search_help_text = "A type (or part of one), a subject id, an event id (evt_...) or a request id."
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at", "-id"]
    show_full_result_count = False  # one count of the filtered rows is enough on a log of millions
    fields = ["public_id", "type_badge", "type_description", "occurred_at", "position", "organization",
              "actor_name", "subject_link", "request_link", "idempotency_key", "data_pretty"]
    readonly_fields = fields

    def get_queryset(self, request):
        # The key's name, when an org key acted: one subquery, not a query per row.
        key_name = ApiKey.objects.filter(pk=OuterRef("actor_id"), organization=OuterRef("organization_id"))
        return (super().get_queryset(request).select_related("organization")
                .annotate(actor_key_name=Subquery(key_name.values("name")[:1])))

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return shown if self.several_organizations_in_view(request) else [n for n in shown if n != "organization"]

    def has_add_permission(self, request):
        return False  # events are recorded by the changes they describe

    def has_change_permission(self, request, obj=None):
        return False  # a fact does not change

    def has_delete_permission(self, request, obj=None):
        return False  # the retention purge removes old events; no one else

    def get_actions(self, request):
        return {}

    def _filtered(self, **lookups):
        return admin_url("events_event_changelist", query=lookups)

    @admin.display(description="occurred at", ordering="occurred_at")
    def occurred(self, event):
        return short_time(event.occurred_at)

    @admin.display(description="type", ordering="type")
    def type_badge(self, event):
        return badge(event.type, "blue" if is_platform_type(event.type) else "grey")

    @admin.display(description="what it means")
    def type_description(self, event):
        registered = types.get(event.type)
        if registered is not None:
            return registered.description
        return "A custom event (emitted with POST /api/v1/events)." if not is_platform_type(event.type) else "-"

    @admin.display(description="subject", ordering="subject_type")
    def subject_link(self, event):
        if not event.subject_type:
            return "-"
        url = self._filtered(subject_type=event.subject_type, subject_id=event.subject_id)
        # The id stays text (the subject may be gone, so there is no page to name it); the icon filters by it.
        return format_html('{} {} <a href="{}" title="Every event about it" aria-label="Every event about it">'
                           '<span class="material-symbols-outlined" style="font-size: 16px">filter_alt</span></a>',
                           event.subject_type, event.subject_id, url)

    @admin.display(description="actor", ordering="actor_type")
    def actor_name(self, event):
        kind = Event.ActorType(event.actor_type).label if event.actor_type in Event.ActorType.values else "?"
        if event.actor_type == Event.ActorType.SYSTEM:
            return kind
        name = getattr(event, "actor_key_name", None)
        if event.actor_type == Event.ActorType.KEY and name:
            return f"{kind} “{name}”"
        return f"{kind} {event.actor_id}" if event.actor_id else kind

    @admin.display(description="request id", ordering="request_id")
    def request_link(self, event):
        if not event.request_id:
            return "-"
        return format_html('<a href="{}" title="Every event of this request">{}</a>',
                           self._filtered(request_id=event.request_id), event.request_id)

    @admin.display(description="data")
    def data_pretty(self, event):
        return format_html('<pre class="plexica-pre">{}</pre>',
                           json.dumps(event.data, indent=2, sort_keys=True, ensure_ascii=False))

