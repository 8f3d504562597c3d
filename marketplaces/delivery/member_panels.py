"""The members' page panel "What you can install": the plugins and marketplaces the delivery API offers the
member, exactly what their CLI or desktop client is served (the same services, as that member)."""

from django.db.models import Count

from marketplaces.catalog.models import Marketplace, MarketplacePlugin
from marketplaces.delivery import services as delivery
from marketplaces.sharing import visible_marketplace_ids
from plexica.adminsite.members import register_member_panel

PANEL = "installable"
SHOWN_PLUGINS = 100


def render(request, principal):
    plugins = list(delivery.accessible_plugins(principal).order_by("name", "plugin_id")[:SHOWN_PLUGINS + 1])
    marketplaces = list(Marketplace.objects.filter(pk__in=visible_marketplace_ids(principal)).order_by("name"))
    names = {marketplace.pk: marketplace.name for marketplace in marketplaces}
    counts = dict(MarketplacePlugin.objects.filter(marketplace_id__in=list(names), removed_at__isnull=True,
                                                   plugin__catalog_status=delivery.DELIVERED)
                  .order_by().values("marketplace_id").annotate(n=Count("pk")).values_list("marketplace_id", "n"))
    rows = []
    for plugin in plugins[:SHOWN_PLUGINS]:
        offered = [names[pk] for pk in (plugin.marketplace_id_list or "").split(",") if pk in names]
        rows.append({"plugin": plugin, "marketplaces": sorted(offered), "pinned": bool(plugin.pinned_release_id)})
    return {"plugins": rows, "more": len(plugins) > SHOWN_PLUGINS,
            "marketplaces": [{"marketplace": m, "plugin_count": counts.get(m.pk, 0)} for m in marketplaces],
            "organization": principal.organization}


def register():
    register_member_panel(PANEL, "What you can install", render, "admin/marketplaces/member/installable.html",
                          order=10)
