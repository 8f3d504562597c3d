"""The Plugin admin's extension points: what other apps add to it, registered from their `AppConfig.ready()`.

An app contributes read-only panels on the change page, inlines and changelist actions, and may make fields
read-only. The core's PluginAdmin reads this registry on every request. Panels, inlines and actions carry an
`order` (lower first; ties by name), so the page is the same whatever order the apps are installed or
registered in. The core never imports a feature app: feature apps come to it here.
"""

from dataclasses import dataclass

PANEL, INLINE, ACTION, READONLY = "panel", "inline", "action", "readonly"


@dataclass(frozen=True)
class Contribution:
    kind: str  # PANEL, INLINE, ACTION or READONLY
    name: str
    value: object  # a panel's render function, an inline class, an action function, a read-only rule
    order: int = 0


def _qualified_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


class PluginAdminExtensions:
    """The contributions to the Plugin admin. Registering the same thing again is a no-op; registering another
    thing under a name already taken is an error, so two apps cannot silently replace each other's."""

    def __init__(self):
        self._contributions = {}

    def add(self, contribution):
        key = (contribution.kind, contribution.name)
        if self._contributions.get(key, contribution) != contribution:
            raise ValueError(f"the Plugin admin already has a {contribution.kind} named {contribution.name!r}")
        self._contributions[key] = contribution

    def contributions(self, kind=None):
        """Every contribution (of `kind`), in the order the admin uses them."""
        found = [c for c in self._contributions.values() if kind is None or c.kind == kind]
        return sorted(found, key=lambda c: (c.order, c.kind, c.name))

    def panel_names(self):
        return [c.name for c in self.contributions(PANEL)]

    def panel(self, name):
        """The render function of the panel `name`, or None."""
        contribution = self._contributions.get((PANEL, name))
        return contribution.value if contribution is not None else None

    def inlines(self):
        return [c.value for c in self.contributions(INLINE)]

    def actions(self):
        return [c.value for c in self.contributions(ACTION)]

    def readonly_rules(self):
        return [c.value for c in self.contributions(READONLY)]


plugin_admin_extensions = PluginAdminExtensions()


def register_plugin_panel(name, render, *, order):
    """Show `render(plugin)` read-only on every plugin's change page (not the add page), after its own fields.

    `render` returns text or HTML (built with `format_html`); decorated with `@admin.display`, its description
    is the label. The page shows it as the field `name` (its row has the CSS class `field-<name>`).
    """
    plugin_admin_extensions.add(Contribution(PANEL, name, render, order))


def register_plugin_inline(inline_class, *, order):
    """Add `inline_class` (an inline of a model with a foreign key to Plugin) to the plugin's change page."""
    plugin_admin_extensions.add(Contribution(INLINE, _qualified_name(inline_class), inline_class, order))


def register_plugin_action(action, *, order):
    """Offer the admin action `action`, a function `(model_admin, request, queryset)`, on the changelist."""
    plugin_admin_extensions.add(Contribution(ACTION, action.__name__, action, order))


def register_plugin_readonly_fields(readonly_fields):
    """Show the fields `readonly_fields(request, plugin or None)` names read-only on the plugin's form."""
    plugin_admin_extensions.add(Contribution(READONLY, _qualified_name(readonly_fields), readonly_fields))
