"""The marketplaces app's platform tool (plexica.tools): `plexica.list_installable_plugins`.

What the delivery API's `GET /api/v1/delivery/plugins` answers, through the same service
(marketplaces.delivery.services.accessible_plugins): the catalog-active plugins the caller can view. It is
open to every principal of the organization and filtered by access (a plugin key sees its own plugin, a
member what is shared with them, org admins everything); a key needs `api:read` or `api:write`, as
`/api/v1/` reads do.
"""

import base64
import binascii

from marketplaces.catalog.services.plugins import marketplace_ids
from marketplaces.delivery import services as delivery
from plexica.api.pagination import MAX_PAGE_SIZE
from plexica.errors import Invalid
from plexica.tenancy.models import ApiKey
from plexica.tools import END, Tool, register_provider, timestamp

DEFAULT_LIMIT = 50  # the delivery list's page size (plexica.api.pagination.CursorPagination)


def plugin_item(plugin):
    """A delivered plugin as the delivery list shows it (DeliveryPluginSerializer's fields)."""
    return {
        "id": plugin.plugin_id, "name": plugin.name, "description": plugin.description,
        "version": plugin.version, "manifest": plugin.manifest, "lifecycleState": plugin.lifecycle_state,
        "catalogStatus": plugin.catalog_status, "createdAt": timestamp(plugin.created_at),
        "updatedAt": timestamp(plugin.updated_at),
        "pinnedReleaseId": plugin.pinned_release_id, "marketplaces": marketplace_ids(plugin),
    }


def encode_cursor(plugin_id):
    return base64.urlsafe_b64encode(plugin_id.encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The plugin id a page starts after; Invalid naming `cursor` for one this tool did not give out."""
    try:
        plugin_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        plugin_id = ""
    if not delivery.PLUGIN_ID.fullmatch(plugin_id):
        raise Invalid("cursor: not a cursor this tool gave out.", field="cursor")
    return plugin_id


def list_installable_plugins(principal, arguments):
    """A page `{items, nextCursor}` of the delivery list, in plugin id order (one query)."""
    limit, cursor = arguments.get("limit", DEFAULT_LIMIT), arguments.get("cursor")
    plugins = delivery.accessible_plugins(principal).order_by("plugin_id")
    if cursor is not None:
        plugins = plugins.filter(plugin_id__gt=decode_cursor(cursor))
    page = list(plugins[:limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [plugin_item(plugin) for plugin in page],
            "nextCursor": encode_cursor(page[-1].plugin_id) if more else None}


LIST_INSTALLABLE_PLUGINS = Tool(
    name="plexica.list_installable_plugins",
    title="List installable plugins",
    description=(
        "The plugins you can install from the organization's catalog (delivered: catalog status active, "
        "and shared with you), in plugin id order, a page at a time: {items: [{id, name, description, "
        "version, manifest, lifecycleState, catalogStatus, createdAt, updatedAt, pinnedReleaseId (the "
        "release delivery serves; null: the rolling latest), marketplaces (the ones you can see offering "
        "it)}], nextCursor (pass it as cursor for the next page; null on the last)}."),
    input_schema={
        "type": "object",
        "properties": {
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                      "description": f"Page size (1 to {MAX_PAGE_SIZE}, {DEFAULT_LIMIT} by default)."},
            "cursor": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,200}$" + END,
                       "description": "The nextCursor of the previous page."},
        },
        "additionalProperties": False,
    },
    run=list_installable_plugins,
    read_only=True,
    idempotent=True,
    meta={"http": ["GET /api/v1/delivery/plugins"]},
    scopes=(ApiKey.Scope.API_READ, ApiKey.Scope.API_WRITE),
)


def platform_tools(principal):
    """Delivery is open to every principal of the organization (what each sees is filtered by access)."""
    return [LIST_INSTALLABLE_PLUGINS]


def register():
    register_provider(platform_tools)
