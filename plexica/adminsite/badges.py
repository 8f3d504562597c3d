"""Coloured status badges for lists and object pages (classes in static/plexica/admin.css)."""

from django.utils.html import format_html

TONES = ("green", "yellow", "red", "grey", "blue")

# The tone of each status value the platform uses; anything else is grey.
STATUS_TONES = {
    # services
    "healthy": "green", "degraded": "yellow", "unavailable": "red", "unhealthy": "red",
    # plugin status (observability)
    "loaded": "green",
    # plugin lifecycle and catalog
    "active": "green", "installed": "blue", "disabled": "yellow", "uninstalled": "grey", "registered": "grey",
    "archived": "grey", "draft": "grey", "published": "green",
    # syncs, deliveries, connector instances
    "succeeded": "green", "success": "green", "processed": "green", "connected": "green", "ok": "green",
    "pending": "blue", "queued": "blue", "running": "blue", "retrying": "yellow", "skipped": "grey",
    "failed": "red", "error": "red", "rejected": "red", "dead": "red", "revoked": "red", "expired": "yellow",
    "suspended": "red",
}


def badge(text, tone="grey"):
    """A pill with `text` in `tone` (one of TONES)."""
    return format_html('<span class="badge badge-{}">{}</span>', tone if tone in TONES else "grey", text)


def status_badge(value, label=None):
    """The badge of a status value ("healthy", "failed"...), labelled `label` or the value itself."""
    key = str(value).lower()
    return badge(label if label is not None else str(value).capitalize(), STATUS_TONES.get(key, "grey"))
