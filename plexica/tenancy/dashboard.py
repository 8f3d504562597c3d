"""The tenancy's dashboard widget: API keys that stop working within 14 days, soonest first."""

from datetime import timedelta

from django.utils import timezone

from plexica.adminsite.badges import badge
from plexica.adminsite.dashboard import person, register_widget
from plexica.tenancy.admin import admin_url
from plexica.tenancy.models import ApiKey

EXPIRING_WITHIN = timedelta(days=14)
KEYS_SHOWN = 8


def expiring_keys(request, scope, now=None):
    now = now or timezone.now()
    keys = scope.filter(ApiKey.objects.filter(revoked_at__isnull=True, expires_at__gt=now,
                                              expires_at__lte=now + EXPIRING_WITHIN))
    rows = list(keys.select_related("plugin", "membership__user", "organization")
                .order_by("expires_at", "pk")[:KEYS_SHOWN + 1])
    return {
        "rows": [
            {"key": key, "url": admin_url("tenancy_apikey_change", key.pk), "acts_as": _acts_as(key),
             "badge": badge("expires soon", "red" if key.expires_at - now <= timedelta(days=3) else "yellow")}
            for key in rows[:KEYS_SHOWN]
        ],
        "more": len(rows) > KEYS_SHOWN,
        "show_organization": scope.organization is None,
        "all_url": admin_url("tenancy_apikey_changelist"),
    }


def _acts_as(key):
    if key.plugin_id:
        return f"{key.plugin.name} ({key.plugin.plugin_id})"
    if key.membership_id:
        return person(key.membership.user)
    return "the organization (automation)"


def register():
    register_widget("expiring_keys", "API keys expiring within 14 days", expiring_keys,
                    "admin/dashboard/expiring_keys.html", order=70, width=2)
