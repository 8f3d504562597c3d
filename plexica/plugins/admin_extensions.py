"""The Plugin admin's extension points: what other apps add to it, registered from their `AppConfig.ready()`.

An app contributes, on the plugin's page, read-only panels (each in a tab), inlines, per-plugin POST views
(the page's buttons: install, pin a release, archive...), reasons that refuse a delete, and the viewer access
a plugin passes on (shown in the access tab); on the changelist, actions; and it may make fields read-only.
The core's PluginAdmin reads this registry on every request. Contributions carry an `order` (lower first;
ties by name), so the page is the same whatever order the apps are installed or registered in. The core
never imports a feature app: feature apps come to it here.
"""

from dataclasses import dataclass

PANEL, INLINE, ACTION, READONLY, TAB, VIEW, DELETE_CHECK, ACCESS_SOURCE = (
    "panel", "inline", "action", "readonly", "tab", "view", "delete_check", "access_source")


@dataclass(frozen=True)
class Contribution:
    kind: str  # PANEL, INLINE, ACTION, READONLY, TAB, VIEW, DELETE_CHECK or ACCESS_SOURCE
    name: str
    value: object  # a panel's render function, an inline class, an action or view function, a rule, a label
    order: int = 0
    tab: str = ""  # a panel's tab


@dataclass(frozen=True)
class Tab:
    key: str  # its DOM id is "plugin-tab-<key>", its panel "plugin-tabpanel-<key>", its URL fragment "#tab-<key>"
    label: str
    order: int


@dataclass(frozen=True)
class InheritedAccess:
    """Someone who may view the plugin without a grant on it: `subject` ("the whole organization", "team
    Sales", "member mia") through `through` (a sentence naming where from, "marketplace Sales tools"),
    linked to `url` when there is a page to see it on."""

    subject: str
    through: str
    role: str = "viewer"
    url: str = ""
    kind: str = "inherited"  # shown as the "how": inherited, plugin key...


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

    def tabs(self):
        """[(Tab, [panel names])]: every tab in order, with its panels in order (tabs without panels too)."""
        tabs = [Tab(c.name, c.value, c.order) for c in self.contributions(TAB)]
        known = {tab.key for tab in tabs}
        panels = self.contributions(PANEL)
        for panel in panels:
            if panel.tab not in known:  # a panel in a tab nobody declared gets a tab of its own, at its place
                tabs.append(Tab(panel.tab, panel.tab.replace("-", " ").capitalize(), panel.order))
                known.add(panel.tab)
        tabs.sort(key=lambda tab: (tab.order, tab.key))
        return [(tab, [p.name for p in panels if p.tab == tab.key]) for tab in tabs]

    def inlines(self):
        return [c.value for c in self.contributions(INLINE)]

    def actions(self):
        return [c.value for c in self.contributions(ACTION)]

    def readonly_rules(self):
        return [c.value for c in self.contributions(READONLY)]

    def views(self):
        """[(name, view)]: the per-plugin POST views."""
        return [(c.name, c.value) for c in self.contributions(VIEW)]

    def delete_checks(self):
        return [c.value for c in self.contributions(DELETE_CHECK)]

    def access_sources(self):
        return [c.value for c in self.contributions(ACCESS_SOURCE)]


plugin_admin_extensions = PluginAdminExtensions()


def register_plugin_tab(key, label, *, order):
    """A tab of the plugin's page (`key`: lowercase, hyphens), placed by `order` among the others."""
    plugin_admin_extensions.add(Contribution(TAB, key, label, order))


def register_plugin_panel(name, render, *, order, tab):
    """Show `render(request, plugin)` read-only on every plugin's change page (not the add page), in tab `tab`.

    `render` returns text or HTML (built with `format_html`); decorated with `@admin.display`, its description
    is the label. The page shows it as the field `name` (its row has the CSS class `field-<name>`). It is
    rendered once per page view, with the request, so it can ask the services as the admin user
    (`admin_principal(request, plugin.organization)`). A panel must not grow its queries with its rows.
    """
    plugin_admin_extensions.add(Contribution(PANEL, name, render, order, tab))


def register_plugin_inline(inline_class, *, order):
    """Add `inline_class` (an inline of a model with a foreign key to Plugin) to the plugin's change page; its
    `tab` attribute names the tab it shows in (the permissions tab without one)."""
    plugin_admin_extensions.add(Contribution(INLINE, _qualified_name(inline_class), inline_class, order))


def register_plugin_action(action, *, order):
    """Offer the admin action `action`, a function `(model_admin, request, queryset)`, on the changelist."""
    plugin_admin_extensions.add(Contribution(ACTION, action.__name__, action, order))


def register_plugin_readonly_fields(readonly_fields):
    """Show the fields `readonly_fields(request, plugin or None)` names read-only on the plugin's form."""
    plugin_admin_extensions.add(Contribution(READONLY, _qualified_name(readonly_fields), readonly_fields))


def register_plugin_view(name, view):
    """A POST view of one plugin at `admin/plugins/plugin/<pk>/<name>/` (URL name `admin:plugins_plugin_<name>`).

    `view(model_admin, request, plugin)` returns a response (usually a redirect back to the page with a
    message). The admin finds the plugin in the user's organizations first (404 otherwise), checks the
    change permission (403) and refuses other methods than POST (405); the view calls one service as
    `admin_principal(request, plugin.organization)` and shows its DomainError message.
    """
    plugin_admin_extensions.add(Contribution(VIEW, name, view))


def register_plugin_delete_check(check, *, order):
    """`check(plugin)` returns the reasons (sentences) that forbid deleting the plugin now, or []; the plugin
    page shows them instead of a Delete button that would lead nowhere."""
    plugin_admin_extensions.add(Contribution(DELETE_CHECK, _qualified_name(check), check, order))


def register_plugin_access_source(source, *, order):
    """`source(plugin)` returns the InheritedAccess rows of who views the plugin without a grant on it (through a
    marketplace...), so the access tab explains the effective access, not only the grants."""
    plugin_admin_extensions.add(Contribution(ACCESS_SOURCE, _qualified_name(source), source, order))
