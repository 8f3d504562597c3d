"""The plugins' dashboard widgets: plugins by lifecycle state, and the latest lifecycle transitions."""

from django.db.models import Count

from plexica.adminsite.badges import status_badge
from plexica.adminsite.dashboard import ago, register_widget
from plexica.plugins.models import LifecycleTransition, Plugin
from plexica.tenancy.admin import admin_url

TRANSITIONS_SHOWN = 8


def plugins_by_lifecycle(request, scope):
    """How many of the catalog's plugins (deleted ones aside) are in each lifecycle state."""
    plugins = scope.filter(Plugin.objects.exclude(catalog_status=Plugin.CatalogStatus.DELETED))
    counts = dict(plugins.order_by().values_list("lifecycle_state").annotate(count=Count("pk")))
    total = sum(counts.values())
    return {
        "total": total,
        "states": [
            {"badge": status_badge(state, label), "count": counts.get(state, 0),
             "url": admin_url("plugins_plugin_changelist", query={"lifecycle_state__exact": state})}
            for state, label in Plugin.LifecycleState.choices
        ],
        "add_url": admin_url("plugins_plugin_add"),
        "all_url": admin_url("plugins_plugin_changelist"),
    }


def recent_lifecycle_transitions(request, scope):
    transitions = list(
        scope.filter(LifecycleTransition.objects.all()).select_related("plugin", "organization")
        .order_by("-at", "-pk")[:TRANSITIONS_SHOWN]
    )
    return {
        "rows": [
            {"transition": transition, "url": admin_url("plugins_plugin_change", transition.plugin_id),
             "ago": ago(transition.at),
             "from_badge": status_badge(transition.from_state, transition.get_from_state_display()),
             "to_badge": status_badge(transition.to_state, transition.get_to_state_display())}
            for transition in transitions
        ],
        "show_organization": scope.organization is None,
        "all_url": admin_url("plugins_lifecycletransition_changelist"),
    }


def register():
    register_widget("plugins_lifecycle", "Plugins by lifecycle state", plugins_by_lifecycle,
                    "admin/dashboard/plugins_lifecycle.html", order=20, width=2)
    register_widget("lifecycle_transitions", "Recent lifecycle changes", recent_lifecycle_transitions,
                    "admin/dashboard/lifecycle_transitions.html", order=90, width=2)
