"""The plugin page's tools tab (contributed to the core's Plugin admin from GatewayConfig.ready()): the plugin's
tool endpoints, whether callers are offered them, and the buttons that expose them to members or stop."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from gateway import tools
from plexica.adminsite.badges import badge
from plexica.errors import DomainError
from plexica.plugins.admin import plugin_page_url, post_button, table, when
from plexica.tenancy.admin import admin_principal, admin_url


@admin.display(description="Tools")
def tool_controls(request, plugin):
    """Each tool endpoint of the plugin (an endpoint whose registration declares an inputSchema): its name, the
    endpoint, whether callers are offered it now, whether members may call it, and an expose or unexpose button
    (the exposure services as the admin user decide on the POST). A flat number of queries."""
    _plugin, entries = tools.plugin_tool_entries(admin_principal(request, plugin.organization), plugin.plugin_id)
    url = admin_url("plugins_plugin_tools", plugin.pk)
    rows = []
    for index, entry in enumerate(entries):
        if entry["exposed"]:
            state = badge(f"exposed {when(entry['exposedAt'])}" + (f" by {entry['exposedBy']}" if entry["exposedBy"]
                                                                    else ""), "green")
            button = post_button(url, "Unexpose", name="unexpose", value=entry["name"], tone="danger",
                                 css_id=f"plugin-tool-unexpose-{index}")
        else:
            state = badge("admins only", "grey")
            button = post_button(url, "Expose to members", name="expose", value=entry["name"], tone="primary",
                                 css_id=f"plugin-tool-expose-{index}")
        if not entry["registered"]:
            offered = badge("no longer registered", "grey")
        elif entry["offered"]:
            offered = badge("offered", "green")
        else:
            offered = badge("not offered", "yellow")
        rows.append((format_html("<code>{}</code>", entry["name"]), f"{entry['method']} {entry['path']}",
                     entry["description"] or "-", offered, state, button))
    return format_html(
        '{}<p class="plexica-subtle">A tool is offered to AI assistants (MCP) while its service is healthy or '
        "degraded and the plugin holds the TOOLS capability. Plugin keys use those whose permissions their plugin "
        "holds; organization admins use all of them; members only the exposed ones.</p>",
        table(["tool", "endpoint", "description", "now", "members", ""], rows,
              "No tools: none of the plugin's endpoints declares an inputSchema in its metadata.", "plugin-tools"))


def tools_view(model_admin, request, plugin):
    """POST expose=<tool name> or unexpose=<tool name>: the exposure services as the admin user."""
    principal = admin_principal(request, plugin.organization)
    exposing = "expose" in request.POST
    name = request.POST.get("expose" if exposing else "unexpose", "")
    try:
        if exposing:
            _entry, created = tools.expose_tool(principal, plugin.plugin_id, name)
            done = f"Exposed {name} to members." if created else f"{name} was exposed already."
        else:
            tools.unexpose_tool(principal, plugin.plugin_id, name)
            done = f"{name} is no longer exposed to members."
    except DomainError as error:
        model_admin.message_user(request, error.message or error.title, messages.ERROR)
    else:
        model_admin.message_user(request, done, messages.SUCCESS)
    return HttpResponseRedirect(plugin_page_url(plugin, "tools"))


def contribute_to_plugin_admin():
    """What GatewayConfig.ready() adds to the Plugin admin: the tools tab and its buttons' view."""
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_tab("tools", "Tools", order=27)
    plugin_admin.register_plugin_panel("tool_controls", tool_controls, order=100, tab="tools")
    plugin_admin.register_plugin_view("tools", tools_view)
