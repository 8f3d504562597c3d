"""Panels other apps add to the config object page, registered from their AppConfig.ready().

The connectors app shows an object's source (its repository binding) there: this app may not import
connectors (connectors > marketplaces), so connectors comes to it here, as apps come to the Plugin admin
through plexica.plugins.admin_extensions.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigObjectPanel:
    name: str  # the panel's DOM id is "panel-<name>"
    title: str
    render: object  # render(request, config_object) -> HTML (format_html), shown in a card
    order: int = 0


_panels = {}


def register_config_object_panel(name, title, render, *, order):
    """Show `render(request, obj)` in a card titled `title` on every config object's page (lower order first).
    Registering the same panel again is a no-op; another one under a taken name is an error."""
    panel = ConfigObjectPanel(name, title, render, order)
    if _panels.get(name, panel) != panel:
        raise ValueError(f"the config object page already has a panel named {name!r}")
    _panels[name] = panel


def config_object_panels():
    """The registered panels, in page order."""
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.name))
