"""The dependency graph of one organization and the questions asked of it. No HTTP here.

`DependencyGraph.load` reads the whole graph of an organization in two queries (its dependency edges,
and the plugins that are installed or asked about); everything else is computed in memory, so the
number of queries does not grow with the size or depth of the graph.

Rules:
- An edge is *followed* from a plugin when it is required, or when its target is installed; an optional
  dependency that is not installed is reported (a warning) but neither it nor what it needs is part of
  the install plan.
- A missing or mismatched dependency is an error when the edge is required and every edge on the way
  from the resolved plugin to it is required too; otherwise a warning (an optional branch cannot make
  the plugin uninstallable).
- Any cycle among followed edges is an error: no install order exists.
"""

import heapq
from collections import defaultdict, deque
from dataclasses import dataclass, field

from django.db.models import Q

from dependencies.models import PluginDependency
from dependencies.ranges import satisfies
from plexica.plugins.models import Plugin


@dataclass(frozen=True)
class Dependency:
    plugin_id: str
    depends_on: str
    version: str
    required: bool = True

    def as_wire(self):
        return {"pluginId": self.plugin_id, "dependsOnPluginId": self.depends_on, "version": self.version,
                "required": self.required}


@dataclass
class Resolution:
    plugin_id: str
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    install_order: list | None = None

    @property
    def valid(self):
        return not self.errors

    def as_wire(self):
        """The seed's body: installOrder only when valid (its 400 example has none)."""
        body = {"valid": self.valid, "errors": self.errors, "warnings": self.warnings}
        if self.valid:
            body["installOrder"] = self.install_order
        return body


@dataclass(frozen=True)
class Blocker:
    plugin_id: str
    reason: str

    def as_wire(self):
        return {"pluginId": self.plugin_id, "reason": self.reason}


class DependencyGraph:
    def __init__(self, dependencies, installed, catalog=()):
        """`dependencies`: Dependency edges; `installed`: {plugin_id: version}; `catalog`: other known ids."""
        self.installed = dict(installed)
        self.catalog = set(catalog) | set(self.installed)
        self.outgoing = defaultdict(list)
        self.incoming = defaultdict(list)
        for dependency in dependencies:
            self.outgoing[dependency.plugin_id].append(dependency)
            self.incoming[dependency.depends_on].append(dependency)
        for edges in self.outgoing.values():
            edges.sort(key=lambda d: d.depends_on)
        for edges in self.incoming.values():
            edges.sort(key=lambda d: d.plugin_id)

    @classmethod
    def load(cls, organization, *plugin_ids):
        """The organization's graph, in two queries; `plugin_ids` are looked up in the catalog too."""
        dependencies = [
            Dependency(*row)
            for row in PluginDependency.objects.filter(organization=organization).values_list(
                "plugin__plugin_id", "depends_on_plugin_id", "version", "required"
            )
        ]
        installed, catalog = {}, set()
        rows = Plugin.objects.filter(organization=organization).filter(
            Q(lifecycle_state__in=Plugin.INSTALLED_STATES) | Q(plugin_id__in=plugin_ids)
        ).values_list("plugin_id", "version", "lifecycle_state")
        for plugin_id, version, state in rows:
            catalog.add(plugin_id)
            if state in Plugin.INSTALLED_STATES:
                installed[plugin_id] = version
        return cls(dependencies, installed, catalog)

    def knows(self, plugin_id):
        """In the catalog (as far as loaded), declaring dependencies, or named as one."""
        return plugin_id in self.catalog or plugin_id in self.outgoing or plugin_id in self.incoming

    def is_followed(self, dependency):
        return dependency.required or dependency.depends_on in self.installed


def _breadth_first(start, neighbours):
    """Nodes reachable from `start` (itself first) in breadth-first order; terminates on cycles."""
    seen = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for other in neighbours(node):
            if other not in seen:
                seen[other] = None
                queue.append(other)
    return list(seen)


def _unique(messages):
    return list(dict.fromkeys(messages))


def resolve(graph, plugin_id):
    """Check `plugin_id`'s transitive dependencies against the installed plugins; see the module rules."""
    def followed(node):
        return [d.depends_on for d in graph.outgoing[node] if graph.is_followed(d)]

    closure = _breadth_first(plugin_id, followed)
    strongly_needed = set(_breadth_first(plugin_id, lambda n: [d.depends_on for d in graph.outgoing[n] if d.required]))
    errors, warnings = _cycles(graph, closure, followed), []
    for node in closure:
        for dependency in graph.outgoing[node]:
            problem = _problem(graph, dependency)
            if problem is None:
                continue
            if dependency.required and node in strongly_needed:
                errors.append(problem)
            else:
                warnings.append(problem)
    errors = _unique(errors)
    warnings = [w for w in _unique(warnings) if w not in errors]
    order = _install_order(closure, followed)
    return Resolution(plugin_id, errors, warnings, order)


def _problem(graph, dependency):
    version = graph.installed.get(dependency.depends_on)
    if version is None:
        return f"Missing dependency: {dependency.depends_on} (required by {dependency.plugin_id})"
    if not satisfies(version, dependency.version):
        wanted = dependency.version or "* (an empty range)"
        return f"Version mismatch: {dependency.depends_on}@{version} does not satisfy {wanted}"
    return None


def _install_order(closure, followed):
    """Dependencies before dependents, smallest plugin id first among the ready; None if there is a cycle."""
    members = set(closure)
    waiting_on = {node: set(followed(node)) & members for node in closure}
    dependents = defaultdict(list)
    for node, needs in waiting_on.items():
        for need in needs:
            dependents[need].append(node)
    ready = [node for node, needs in waiting_on.items() if not needs]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            waiting_on[dependent].discard(node)
            if not waiting_on[dependent]:
                heapq.heappush(ready, dependent)
    return order if len(order) == len(closure) else None


def _cycles(graph, closure, followed):
    """One message per cycle group (strongly connected component), in the order the walk meets them.

    Each names a shortest cycle through the group's first-met plugin, e.g. `a → b → c → a`.
    """
    position = {node: index for index, node in enumerate(closure)}
    messages = []
    for component in _strongly_connected(closure, followed):
        if len(component) == 1:
            continue  # a plugin cannot depend on itself (registration refuses it)
        start = min(component, key=position.__getitem__)
        path = _shortest_cycle(start, component, followed)
        messages.append((position[start], "Circular dependency detected: " + " → ".join(path)))
    return [message for _, message in sorted(messages)]


def _strongly_connected(nodes, followed):
    """Tarjan's algorithm, iterative (deep graphs must not hit the recursion limit)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(followed(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(followed(child))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _shortest_cycle(start, component, followed):
    """[start, ..., start]: the shortest way back to `start` inside `component`, ties by plugin id."""
    came_from = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(followed(node)):
            if child == start:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return list(reversed(path)) + [start]
            if child in component and child not in came_from:
                came_from[child] = node
                queue.append(child)
    raise AssertionError("a strongly connected component always has a cycle")  # pragma: no cover


def dependencies_of(graph, plugin_id, recursive=False):
    """The plugin's dependency edges; with `recursive`, every edge reachable from it, each once."""
    if not recursive:
        return list(graph.outgoing[plugin_id])
    nodes = _breadth_first(plugin_id, lambda n: [d.depends_on for d in graph.outgoing[n]])
    return [dependency for node in nodes for dependency in graph.outgoing[node]]


def dependents_of(graph, plugin_id, recursive=False):
    """Ids of the plugins that depend on it (directly, or with `recursive` also transitively), sorted."""
    if not recursive:
        return sorted({d.plugin_id for d in graph.incoming[plugin_id]})
    nodes = _breadth_first(plugin_id, lambda n: [d.plugin_id for d in graph.incoming[n]])
    return sorted(node for node in nodes if node != plugin_id)


def uninstall_blockers(graph, plugin_id):
    """Installed plugins that require `plugin_id`, directly or through other installed plugins they require.

    Nearest first (ties by id), each with the chain that makes it need the plugin.
    """
    toward = {plugin_id: None}  # each blocker -> the next plugin on its way to `plugin_id`
    blockers, layer = [], [plugin_id]
    while layer:
        next_layer = []
        for node in layer:
            for dependency in graph.incoming[node]:
                dependent = dependency.plugin_id
                if dependency.required and dependent not in toward and dependent in graph.installed:
                    toward[dependent] = node
                    next_layer.append(dependent)
        next_layer.sort()
        blockers.extend(next_layer)
        layer = next_layer
    return [Blocker(blocker, _reason(blocker, toward, plugin_id)) for blocker in blockers]


def _reason(blocker, toward, plugin_id):
    if toward[blocker] == plugin_id:
        return "Required dependency"
    chain = []
    node = toward[blocker]
    while node is not None:
        chain.append(node)
        node = toward[node]
    return "Requires " + ", which requires ".join(chain)
