"""The dependency graph's platform tool (plexica.tools): `plexica.resolve_dependencies`.

What the plugin gateway's `POST /dependencies/{pluginId}/resolve` answers, through the same service
(dependencies.services.resolve_dependencies). The graph questions are open to everyone in the organization;
a key needs the `gateway` scope, as every plugin gateway path does.
"""

from dependencies import services
from plexica.ids import PLUGIN_ID_PATTERN
from plexica.tenancy.models import ApiKey
from plexica.tools import END, Tool, register_provider


def resolve_dependencies(principal, arguments):
    """The resolve endpoint's body. An unmet dependency is an answer (`valid: false` with its `errors`, the
    body HTTP sends with its 400), not the tool's failure; an unknown plugin is (a 404 Plugin not found)."""
    return services.resolve_dependencies(principal, arguments["pluginId"]).as_wire()


RESOLVE_DEPENDENCIES = Tool(
    name="plexica.resolve_dependencies",
    title="Resolve a plugin's dependencies",
    description=(
        "Check a plugin's transitive dependencies against the plugins installed in the organization "
        "(npm-style version ranges): {valid, errors, warnings, installOrder}. installOrder (dependencies "
        "first, the plugin last) is there only when valid; errors name each missing, out-of-range or "
        "circular requirement, warnings the unmet optional ones. A plugin the organization does not know "
        "is a 404."),
    input_schema={
        "type": "object",
        "properties": {"pluginId": {"type": "string", "pattern": PLUGIN_ID_PATTERN + END, "maxLength": 100,
                                    "description": "The plugin to resolve (plugin-{name})."}},
        "required": ["pluginId"],
        "additionalProperties": False,
    },
    run=resolve_dependencies,
    read_only=True,
    idempotent=True,
    meta={"http": ["POST /api/plugin-gateway/dependencies/{pluginId}/resolve"]},
    scopes=(ApiKey.Scope.GATEWAY,),
)


def platform_tools(principal):
    """Resolving is open to everyone in the organization (dependencies.services)."""
    return [RESOLVE_DEPENDENCIES]


def register():
    register_provider(platform_tools)
