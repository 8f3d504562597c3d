"""What the catalog adds to the plugin's page (plexica.plugins.admin_extensions), from MarketplacesConfig.ready():

- the config objects tab (the objects the plugin bundles, each with its latest version);
- the marketplaces tab (the marketplaces offering it, and who sees each);
- the access it passes on: whoever sees an active marketplace offering the plugin views the plugin;
- on the overview, archive / restore buttons (the catalog's services: archiving is how a plugin is retired);
- delete checks: a plugin offered in a marketplace or bundling config objects is not deleted.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from marketplaces.catalog.models import Marketplace, MarketplacePlugin
from marketplaces.catalog.services import bundles, plugins
from marketplaces.config_objects.services import latest_version_value
from marketplaces.sharing import MARKETPLACE
from plexica.access.models import AccessGrant
from plexica.adminsite.badges import status_badge
from plexica.errors import DomainError
from plexica.plugins.admin import PANEL_ROWS, more_link, plugin_page_url, post_button, table, when
from plexica.plugins.admin_extensions import InheritedAccess
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import admin_principal, admin_url

INHERITED_ROWS = 50


def _offering(plugin):
    """The plugin's active memberships of live marketplaces (archived ones included, for display)."""
    return (MarketplacePlugin.objects.filter(plugin=plugin, removed_at__isnull=True,
                                             marketplace__deleted_at__isnull=True)
            .select_related("marketplace", "added_by").order_by("marketplace__name", "marketplace_id"))


@admin.display(description="Config objects it bundles")
def config_objects(request, plugin):
    """The plugin's member config objects, with their type, status, source and latest version."""
    memberships = (bundles.config_objects_of_plugin(admin_principal(request, plugin.organization), plugin.plugin_id)
                   .filter(config_object__deleted_at__isnull=True)
                   .annotate(latest_at=latest_version_value("created_at", outer="config_object_id"),
                             latest_via=latest_version_value("created_via", outer="config_object_id"))
                   .defer("config_object__search_text", "config_object__description")
                   .order_by("config_object__title", "config_object_id"))
    shown = list(memberships[:PANEL_ROWS])
    total = memberships.count()
    rows = [(format_html('<a href="{}">{}</a>', admin_url("marketplaces_configobject_change", m.config_object_id),
                         m.config_object),
             m.config_object.get_type_display(),
             status_badge(m.config_object.status, m.config_object.get_status_display()),
             m.get_source_display(), when(m.latest_at) if m.latest_at else "no version yet", when(m.added_at))
            for m in shown]
    return format_html("{}{}", table(["config object", "type", "status", "added via", "latest version", "added"],
                                     rows, "It bundles no config object yet.", "plugin-config-objects"),
                       more_link(len(shown), total, admin_url("marketplaces_configobject_changelist"),
                                 "config objects"))


def _audiences(marketplace_ids):
    """{marketplace pk: [subject labels]} of the active grants on those marketplaces (one query)."""
    audiences = {}
    grants = (AccessGrant.objects.filter(resource_type=MARKETPLACE, resource_id__in=marketplace_ids,
                                         revoked_at__isnull=True)
              .select_related("membership__user", "team__organization").order_by("-org_wide", "team__name", "created_at"))
    for grant in grants[:INHERITED_ROWS * 4]:
        audiences.setdefault(grant.resource_id, []).append(grant)
    return audiences


@admin.display(description="Marketplaces offering it")
def marketplaces_offering(request, plugin):
    """The marketplaces that offer the plugin, with their status and who sees them (and so views the plugin)."""
    memberships = _offering(plugin)
    shown = list(memberships[:PANEL_ROWS])
    total = memberships.count()
    audiences = _audiences([m.marketplace_id for m in shown])

    def audience(marketplace):
        grants = audiences.get(marketplace.pk, [])
        if not grants:
            return "org admins only"
        labels = [g.subject_label for g in grants[:4]]
        return ", ".join(labels) + (f" and {len(grants) - 4} more" if len(grants) > 4 else "")

    rows = [(format_html('<a href="{}">{}</a>', admin_url("marketplaces_marketplace_change", m.marketplace_id),
                         m.marketplace),
             status_badge(m.marketplace.status, m.marketplace.get_status_display()), audience(m.marketplace),
             m.added_by or "-", when(m.added_at)) for m in shown]
    return format_html("{}{}", table(["marketplace", "status", "who sees it", "added by", "added"], rows,
                                     "No marketplace offers it.", "plugin-marketplaces"),
                       more_link(len(shown), total, admin_url("marketplaces_marketplace_changelist"), "marketplaces"))


def viewers_through_marketplaces(plugin):
    """Who views the plugin because they see an active marketplace offering it (the access rules' inherited
    viewer, marketplaces.sharing), one row per grant on such a marketplace."""
    live = {m.marketplace_id: m.marketplace for m in _offering(plugin).filter(
        marketplace__status=Marketplace.Status.ACTIVE)[:INHERITED_ROWS]}
    rows = []
    for marketplace_id, grants in _audiences(list(live)).items():
        marketplace = live[marketplace_id]
        for grant in grants:
            rows.append(InheritedAccess(subject=grant.subject_label, through=f"marketplace {marketplace.name}",
                                        url=admin_url("marketplaces_marketplace_change", marketplace_id),
                                        kind="inherited"))
    return rows[:INHERITED_ROWS]


@admin.display(description="Catalog")
def catalog_actions(request, plugin):
    """Archive (retire it from the catalog, keeping everything) or restore, through the catalog's services."""
    archived = plugin.catalog_status == Plugin.CatalogStatus.ARCHIVED
    deleted = plugin.catalog_status == Plugin.CatalogStatus.DELETED
    archive = post_button(admin_url("plugins_plugin_archive", plugin.pk), "Archive", css_id="plugin-archive",
                          disabled_reason="It is archived already." if archived else
                          "It is deleted." if deleted else "")
    restore = post_button(admin_url("plugins_plugin_restore", plugin.pk), "Restore", css_id="plugin-restore",
                          tone="primary", disabled_reason="" if archived else "Only an archived plugin is restored.")
    return format_html('<p>{} Archiving takes the plugin out of the catalog and its marketplaces\' deliveries '
                       'while keeping its history, releases and grants; restoring brings it back.</p>'
                       '<div class="plexica-buttons" id="plugin-catalog-buttons">{}{}</div>',
                       status_badge(plugin.catalog_status, plugin.get_catalog_status_display()), archive, restore)


def _catalog_view(change, done):
    def view(model_admin, request, plugin):
        try:
            change(admin_principal(request, plugin.organization), plugin.plugin_id)
        except DomainError as error:
            model_admin.message_user(request, error.message, messages.ERROR)
        else:
            model_admin.message_user(request, f"{done} {plugin}.", messages.SUCCESS)
        return HttpResponseRedirect(plugin_page_url(plugin, "overview"))
    view.__name__ = f"{done.lower()}_view"
    return view


archive_view = _catalog_view(plugins.archive_plugin, "Archived")
restore_view = _catalog_view(plugins.restore_plugin, "Restored")


def delete_check(plugin):
    reasons = []
    names = list(_offering(plugin).values_list("marketplace__name", flat=True)[:6])
    if names:
        reasons.append(f"marketplaces offer it ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}): "
                       "remove it from them first")
    bundled = bundles.plugin_memberships(plugin.organization_id).filter(
        plugin=plugin, config_object__deleted_at__isnull=True).count()
    if bundled:
        reasons.append(f"it bundles {bundled} config object{'s' if bundled != 1 else ''}")
    return reasons


def register():
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_tab("config-objects", "Config objects", order=30)
    plugin_admin.register_plugin_tab("marketplaces", "Marketplaces", order=40)
    plugin_admin.register_plugin_panel("catalog_actions", catalog_actions, order=800, tab="overview")
    plugin_admin.register_plugin_panel("config_objects", config_objects, order=100, tab="config-objects")
    plugin_admin.register_plugin_panel("marketplaces_offering", marketplaces_offering, order=100, tab="marketplaces")
    plugin_admin.register_plugin_view("archive", archive_view)
    plugin_admin.register_plugin_view("restore", restore_view)
    plugin_admin.register_plugin_access_source(viewers_through_marketplaces, order=100)
    plugin_admin.register_plugin_delete_check(delete_check, order=200)

