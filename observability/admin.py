"""The status in the admin: a dashboard card of the running plugins by state, and a status panel on each
plugin's page (the services tab), both from observability.status, the rules /ext/status answers with."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from observability import status
from plexica.adminsite.badges import status_badge
from plexica.adminsite.dashboard import register_widget
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import admin_url

PROBLEMS_SHOWN = 8
SHOWN_STATES = ("loaded", "degraded", "failed", "installed")
STATE_LABELS = {"installed": "Waiting to load"}


def plugins_by_status(request, scope, now=None):
    """The installed and enabled plugins by state, and those degraded or failed (failed first)."""
    states = status.running_plugin_states(scope.filter(Plugin.objects.all()), now)
    if not states:
        return None  # nothing installed: the lifecycle card says so already
    counts = {state: 0 for state in SHOWN_STATES}
    for plugin in states:
        counts[plugin["state"]] = counts.get(plugin["state"], 0) + 1
    problems = sorted((plugin for plugin in states if plugin["state"] in ("failed", "degraded")),
                      key=lambda plugin: (plugin["state"] != "failed", plugin["plugin_id"]))
    return {
        "total": len(states),
        "stats": [{"badge": status_badge(state, STATE_LABELS.get(state, state.capitalize())),
                   "count": counts[state]} for state in SHOWN_STATES],
        "problems": [{**plugin, "badge": status_badge(plugin["state"]),
                      "url": admin_url("plugins_plugin_change", plugin["plugin_pk"]),
                      "unhealthy": [service["name"] for service in plugin["services"]
                                    if service["health"] != "healthy"]}
                     for plugin in problems[:PROBLEMS_SHOWN]],
        "more_problems": max(0, len(problems) - PROBLEMS_SHOWN),
    }


@admin.display(description="Status")
def plugin_status_panel(request, plugin):
    """The plugin's state and health, how long it took to load, and its services' health."""
    body, _ = status.extension_health_of(plugin, timezone.now())
    loaded_ms = status.loaded_ms(plugin.installed_at, plugin.loaded_at)
    facts = [
        ("State", status_badge(body["state"])),
        ("Health", status_badge(body["status"])),
        ("Installed", format_html("{}", timezone.localtime(plugin.installed_at).strftime("%Y-%m-%d %H:%M:%S"))
         if plugin.installed_at else "not recorded"),
        ("Loaded in", f"{loaded_ms:,} ms" if loaded_ms is not None else "not loaded yet"),
    ]
    checks = format_html_join(", ", "{} {}", ((name, status_badge(health)) for name, health in body["checks"].items()))
    return format_html('<dl class="plexica-dl" id="plugin-status">{}<dt>Services</dt><dd>{}</dd></dl>',
                       format_html_join("", "<dt>{}</dt><dd>{}</dd>", facts), checks or "none registered")


def register():
    register_widget("plugins_status", "Plugins by status", plugins_by_status,
                    "admin/dashboard/plugins_status.html", order=15, width=2)
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_panel("status", plugin_status_panel, order=50, tab="services")
