"""The sidebar: sections by task (settings.PLEXICA_ADMIN_SIDEBAR), each item shown only to who may view it."""

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse


def sidebar(request):
    """unfold's SIDEBAR["navigation"]: one group per section, with the changelists the user may view."""
    groups = []
    for section, items in settings.PLEXICA_ADMIN_SIDEBAR:
        links = []
        for title, icon, target in items:
            link = _link(request, target)
            if link:
                links.append({"title": title, "icon": icon, "link": link})
        if links:
            groups.append({"title": section, "separator": True, "collapsible": False, "items": links})
    return groups


def _link(request, target):
    if target.startswith("admin:"):  # a view of the site itself (the dashboard, search)
        return reverse(target)
    model = apps.get_model(target)
    model_admin = admin.site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        return None
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
