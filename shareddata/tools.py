"""Shared data's platform tools (plexica.tools): get, list, set and delete entries.

What the plugin gateway's `/shared-data` endpoints do, through the same services (shareddata.services), so the
same rules hold: anyone in the organization reads and lists; a plugin key writes as its own plugin and
overwrites or deletes only its plugin's entries; org admins (owners, admins, org keys) write as any plugin of
the organization. A plain member may not write over HTTP, so the writing tools are not listed for one. Every
tool needs the `gateway` scope of a key, as the HTTP paths do.

HTTP's headers become fields: `etag` is the ETag the HTTP answer carries, `ifMatch` the If-Match it takes
(a read-modify-write without lost updates: a stale `ifMatch` is the 412 of HTTP).
"""

from django.conf import settings

from plexica.ids import PLUGIN_ID_PATTERN
from plexica.tenancy.models import ApiKey
from plexica.tools import END, Tool, register_provider, timestamp
from shareddata import services
from shareddata.api.serializers import MAX_TTL, NAME_PATTERN

# JSON Schema's `$` is the very end; Python's (which jsonschema runs) also matches before a final line feed.
GATEWAY = (ApiKey.Scope.GATEWAY,)


def _name(what):
    return {"type": "string", "pattern": NAME_PATTERN + END, "maxLength": 128,
            "description": f"The {what}: 1 to 128 letters, digits and . _ : - (from a letter or digit)."}


PLUGIN_ID = {"type": "string", "pattern": PLUGIN_ID_PATTERN + END, "maxLength": 100}
IF_MATCH = {"type": "string", "minLength": 1, "maxLength": 1000, "description": (
    "Act only while the entry's ETag is still this one (the `etag` a get or set answered; `*`: it exists). "
    "Otherwise a 412 and nothing changes.")}


# Reading


def shared_data_get(principal, arguments):
    """The entry as `GET /shared-data/{namespace}/{key}` answers it, with its ETag as `etag`."""
    entry = services.get_entry(principal, arguments["namespace"], arguments["key"])
    return {"namespace": entry.namespace, "key": entry.key, "value": entry.value,
            "ownerId": entry.owner.plugin_id, "expiresAt": timestamp(entry.expires_at), "etag": entry.etag}


SHARED_DATA_GET = Tool(
    name="plexica.shared_data_get",
    title="Read shared data",
    description=("One live entry of the organization's shared data: {namespace, key, value, ownerId, "
                 "expiresAt, etag}. A missing or expired entry is a 404 Data not found."),
    input_schema={"type": "object", "properties": {"namespace": _name("namespace"), "key": _name("key")},
                  "required": ["namespace", "key"], "additionalProperties": False},
    run=shared_data_get,
    read_only=True,
    idempotent=True,
    meta={"http": ["GET /api/plugin-gateway/shared-data/{namespace}/{key}"]},
    scopes=GATEWAY,
)


def shared_data_list(principal, arguments):
    """A page of the namespace's live keys as `GET /shared-data/{namespace}` answers it."""
    namespace, cursor = arguments["namespace"], arguments.get("cursor")
    keys, total, next_cursor = services.list_keys(
        principal, namespace, owner_id=arguments.get("ownerId"), limit=arguments.get("limit"),
        after=services.decode_cursor(cursor) if cursor is not None else None,
    )
    body = {"namespace": namespace, "keys": keys, "count": total}
    if next_cursor:
        body["nextCursor"] = next_cursor
    return body


SHARED_DATA_LIST = Tool(
    name="plexica.shared_data_list",
    title="List shared data keys",
    description=("The live keys of a shared data namespace in key order, a page at a time: {namespace, keys, "
                 "count (all matching keys), nextCursor (present when more follow: pass it as cursor)}."),
    input_schema={
        "type": "object",
        "properties": {
            "namespace": _name("namespace"),
            "ownerId": {**PLUGIN_ID, "description": "Only keys owned by this plugin (plugin-{name})."},
            "limit": {"type": "integer", "minimum": 1, "maximum": settings.SHAREDDATA_LIST_MAX_KEYS,
                      "description": f"Page size (1 to {settings.SHAREDDATA_LIST_MAX_KEYS}, the most by "
                                     "default)."},
            "cursor": {"type": "string", "minLength": 1, "maxLength": 400,
                       "description": "The nextCursor of the previous page."},
        },
        "required": ["namespace"],
        "additionalProperties": False,
    },
    run=shared_data_list,
    read_only=True,
    idempotent=True,
    meta={"http": ["GET /api/plugin-gateway/shared-data/{namespace}"]},
    scopes=GATEWAY,
)


# Writing


def shared_data_set(principal, arguments):
    """Create or overwrite the entry as `POST /shared-data` does; a plugin key's `ownerId` defaults to its own
    plugin. The HTTP body, with the new ETag as `etag`."""
    owner_id = arguments.get("ownerId") or principal.plugin.plugin_id  # the schema requires it of others
    ttl = arguments.get("ttl")
    write = services.Write(namespace=arguments["namespace"], key=arguments["key"], value=arguments["value"],
                           owner_id=owner_id, ttl=int(ttl) if ttl is not None else None)
    entry, _ = services.set_entry(principal, write, if_match=arguments.get("ifMatch"))
    return {"success": True, "message": "Data stored successfully", "etag": entry.etag}


def set_schema(principal):
    """A plugin key may leave `ownerId` out (it writes as its own plugin); everyone else names the owner."""
    plugin = principal.plugin
    owner = {**PLUGIN_ID, "description": (
        f"The plugin that owns the entry. This key writes as {plugin.plugin_id} only (the default)."
        if plugin is not None else "The plugin that owns the entry (plugin-{name}, of this organization).")}
    return {
        "type": "object",
        "properties": {
            "namespace": _name("namespace"),
            "key": _name("key"),
            "value": {"description": "Any JSON value, null included (at most SHAREDDATA_MAX_VALUE_BYTES as "
                                     "JSON; larger is a 413)."},
            "ownerId": owner,
            "ttl": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_TTL,
                    "description": "Seconds until the entry expires; absent or null: never."},
            "ifMatch": IF_MATCH,
        },
        "required": ["namespace", "key", "value"] + ([] if plugin is not None else ["ownerId"]),
        "additionalProperties": False,
    }


def shared_data_set_tool(principal):
    return Tool(
        name="plexica.shared_data_set",
        title="Write shared data",
        description=(
            "Create or overwrite an entry of the organization's shared data, owned by a plugin, optionally "
            "expiring after ttl seconds: {success, message, etag}. Only the owner plugin's key or an "
            "organization admin overwrites a live entry (else a 403); ifMatch makes it conditional (412 when "
            "the entry changed)."),
        input_schema=set_schema(principal),
        run=shared_data_set,
        meta={"http": ["POST /api/plugin-gateway/shared-data"]},
        scopes=GATEWAY,
    )


def shared_data_delete(principal, arguments):
    """Delete the live entry as `DELETE /shared-data/{namespace}/{key}` does."""
    services.delete_entry(principal, arguments["namespace"], arguments["key"],
                          if_match=arguments.get("ifMatch"))
    return {"success": True, "message": "Data deleted successfully"}


SHARED_DATA_DELETE = Tool(
    name="plexica.shared_data_delete",
    title="Delete shared data",
    description=("Delete a live entry of the organization's shared data: {success, message}. Only "
                 "the owner plugin's key or an organization admin may (else a 403); a missing or expired "
                 "entry is a 404; ifMatch makes it conditional (412 when the entry changed)."),
    input_schema={"type": "object",
                  "properties": {"namespace": _name("namespace"), "key": _name("key"), "ifMatch": IF_MATCH},
                  "required": ["namespace", "key"], "additionalProperties": False},
    run=shared_data_delete,
    meta={"http": ["DELETE /api/plugin-gateway/shared-data/{namespace}/{key}"]},
    scopes=GATEWAY,
)


def may_write(principal):
    """shareddata.services' rule for writing: a plugin's own key (as its plugin) or an organization admin."""
    return principal.plugin is not None or principal.is_org_admin


def platform_tools(principal):
    tools = [SHARED_DATA_GET, SHARED_DATA_LIST]
    if may_write(principal):
        tools += [shared_data_set_tool(principal), SHARED_DATA_DELETE]
    return tools


def register():
    register_provider(platform_tools)
