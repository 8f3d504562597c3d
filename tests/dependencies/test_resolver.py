"""The dependency graph's answers, computed without HTTP (and, except for loading, without the database)."""

import random

import pytest

from dependencies.models import PluginDependency
from dependencies.resolver import (
    Dependency,
    DependencyGraph,
    dependencies_of,
    dependents_of,
    resolve,
    uninstall_blockers,
)
from plexica.plugins.models import Plugin


def graph(edges, installed=None):
    """edges: "plugin-a -> plugin-b ^1.0.0" strings, "?" before the range for an optional one."""
    parsed = []
    for edge in edges:
        source, _, rest = edge.partition(" -> ")
        target, _, version = rest.partition(" ")
        required = not version.startswith("?")
        parsed.append(Dependency(source, target, version.lstrip("?") or "*", required))
    return DependencyGraph(parsed, installed or {})


# --- resolve: cycles ----------------------------------------------------------------------------


def test_a_two_plugin_cycle_is_reported_from_the_resolved_plugin_back_to_itself():
    result = resolve(graph(["plugin-a -> plugin-b", "plugin-b -> plugin-a"]), "plugin-a")
    assert not result.valid
    assert "Circular dependency detected: plugin-a → plugin-b → plugin-a" in result.errors


def test_a_three_plugin_cycle_names_the_full_cycle():
    result = resolve(
        graph(["plugin-a -> plugin-b", "plugin-b -> plugin-c", "plugin-c -> plugin-a"]), "plugin-a"
    )
    assert result.errors[0] == "Circular dependency detected: plugin-a → plugin-b → plugin-c → plugin-a"


def test_a_four_plugin_cycle_names_the_full_cycle():
    edges = ["plugin-a -> plugin-b", "plugin-b -> plugin-c", "plugin-c -> plugin-d", "plugin-d -> plugin-a"]
    result = resolve(graph(edges, {p: "1.0.0" for p in ("plugin-a", "plugin-b", "plugin-c", "plugin-d")}), "plugin-a")
    assert result.errors == [
        "Circular dependency detected: plugin-a → plugin-b → plugin-c → plugin-d → plugin-a"
    ]
    assert result.as_wire() == {"valid": False, "errors": result.errors, "warnings": []}


def test_a_cycle_deeper_in_the_graph_starts_where_the_walk_enters_it():
    edges = [
        "plugin-app -> plugin-ui", "plugin-ui -> plugin-x", "plugin-x -> plugin-y",
        "plugin-y -> plugin-z", "plugin-z -> plugin-x",
    ]
    result = resolve(graph(edges), "plugin-app")
    assert "Circular dependency detected: plugin-x → plugin-y → plugin-z → plugin-x" in result.errors
    assert result.install_order is None


def test_each_separate_cycle_is_reported_once():
    edges = [
        "plugin-app -> plugin-a", "plugin-app -> plugin-m",
        "plugin-a -> plugin-b", "plugin-b -> plugin-a",
        "plugin-m -> plugin-n", "plugin-n -> plugin-m",
    ]
    cycles = [e for e in resolve(graph(edges), "plugin-app").errors if e.startswith("Circular")]
    assert cycles == [
        "Circular dependency detected: plugin-a → plugin-b → plugin-a",
        "Circular dependency detected: plugin-m → plugin-n → plugin-m",
    ]


def test_a_cycle_through_an_optional_dependency_that_is_not_installed_is_not_followed():
    edges = ["plugin-a -> plugin-b ?^1.0.0", "plugin-b -> plugin-a"]
    result = resolve(graph(edges), "plugin-a")
    assert result.valid
    assert result.warnings == ["Missing dependency: plugin-b (required by plugin-a)"]
    assert result.install_order == ["plugin-a"]


# --- resolve: missing, mismatched, optional -----------------------------------------------------


def test_the_seed_example_resolves_in_dependency_order():
    edges = ["plugin-analytics -> plugin-crm ^1.0.0", "plugin-analytics -> plugin-marketing ?>=2.0.0"]
    result = resolve(graph(edges, {"plugin-crm": "1.4.0", "plugin-marketing": "2.1.0"}), "plugin-analytics")
    assert result.as_wire() == {
        "valid": True, "errors": [], "warnings": [],
        "installOrder": ["plugin-crm", "plugin-marketing", "plugin-analytics"],
    }


def test_a_missing_required_dependency_is_an_error_naming_who_requires_it():
    result = resolve(graph(["plugin-analytics -> plugin-crm ^1.0.0"]), "plugin-analytics")
    assert result.errors == ["Missing dependency: plugin-crm (required by plugin-analytics)"]
    assert not result.valid


def test_a_required_version_mismatch_is_an_error_with_the_installed_version():
    result = resolve(graph(["plugin-analytics -> plugin-crm ^2.0.0"], {"plugin-crm": "1.5.0"}), "plugin-analytics")
    assert result.errors == ["Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0"]


def test_optional_problems_are_warnings_and_the_plugin_stays_valid():
    edges = ["plugin-analytics -> plugin-crm ?^2.0.0", "plugin-analytics -> plugin-marketing ?>=2.0.0"]
    result = resolve(graph(edges, {"plugin-crm": "1.5.0"}), "plugin-analytics")
    assert result.valid
    assert result.warnings == [
        "Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0",
        "Missing dependency: plugin-marketing (required by plugin-analytics)",
    ]


def test_problems_are_found_deep_in_the_transitive_graph():
    edges = ["plugin-a -> plugin-b", "plugin-b -> plugin-c ^1.0.0", "plugin-c -> plugin-d ~3.1.0"]
    result = resolve(graph(edges, {"plugin-b": "1.0.0", "plugin-c": "1.2.0", "plugin-d": "3.2.0"}), "plugin-a")
    assert result.errors == ["Version mismatch: plugin-d@3.2.0 does not satisfy ~3.1.0"]


def test_a_required_dependency_below_an_optional_one_only_warns():
    edges = ["plugin-a -> plugin-b ?*", "plugin-b -> plugin-c"]
    result = resolve(graph(edges, {"plugin-b": "1.0.0"}), "plugin-a")
    assert result.valid
    assert result.warnings == ["Missing dependency: plugin-c (required by plugin-b)"]
    assert result.install_order == ["plugin-c", "plugin-b", "plugin-a"]


def test_a_prerelease_installed_version_follows_npm_rules():
    result = resolve(graph(["plugin-a -> plugin-b ^1.0.0"], {"plugin-b": "1.1.0-beta.1"}), "plugin-a")
    assert result.errors == ["Version mismatch: plugin-b@1.1.0-beta.1 does not satisfy ^1.0.0"]


def test_the_same_problem_reached_twice_is_reported_once():
    edges = ["plugin-a -> plugin-b", "plugin-a -> plugin-c", "plugin-b -> plugin-d ^2", "plugin-c -> plugin-d ^2"]
    result = resolve(graph(edges, {"plugin-b": "1.0.0", "plugin-c": "1.0.0", "plugin-d": "1.0.0"}), "plugin-a")
    assert result.errors == ["Version mismatch: plugin-d@1.0.0 does not satisfy ^2"]


# --- resolve: install order -----------------------------------------------------------------------


def test_a_diamond_installs_the_shared_dependency_once_and_first():
    edges = ["plugin-app -> plugin-left", "plugin-app -> plugin-right",
             "plugin-left -> plugin-base", "plugin-right -> plugin-base"]
    result = resolve(graph(edges), "plugin-app")
    assert result.install_order == ["plugin-base", "plugin-left", "plugin-right", "plugin-app"]
    assert result.errors == [
        "Missing dependency: plugin-left (required by plugin-app)",
        "Missing dependency: plugin-right (required by plugin-app)",
        "Missing dependency: plugin-base (required by plugin-left)",
        "Missing dependency: plugin-base (required by plugin-right)",
    ]


def test_a_diamond_whose_sides_want_different_versions_of_the_base_reports_the_unmet_side():
    edges = ["plugin-app -> plugin-left ^1", "plugin-app -> plugin-right ^1",
             "plugin-left -> plugin-base ^1.2.0", "plugin-right -> plugin-base ^2.0.0"]
    installed = {"plugin-left": "1.0.0", "plugin-right": "1.0.0", "plugin-base": "1.5.0"}
    result = resolve(graph(edges, installed), "plugin-app")
    assert result.errors == ["Version mismatch: plugin-base@1.5.0 does not satisfy ^2.0.0"]


def test_install_order_breaks_ties_by_plugin_id_and_puts_the_plugin_last():
    edges = ["plugin-app -> plugin-zeta", "plugin-app -> plugin-alpha", "plugin-app -> plugin-mid",
             "plugin-zeta -> plugin-core", "plugin-mid -> plugin-core"]
    order = resolve(graph(edges), "plugin-app").install_order
    assert order == ["plugin-alpha", "plugin-core", "plugin-mid", "plugin-zeta", "plugin-app"]


def test_install_order_is_the_same_whatever_order_the_edges_come_in():
    edges = [f"plugin-n{i} -> plugin-n{j}" for i in range(12) for j in range(i + 1, 12) if (i * j) % 3 == 0]
    orders = set()
    for seed in range(5):
        shuffled = list(edges)
        random.Random(seed).shuffle(shuffled)
        orders.add(tuple(resolve(graph(shuffled), "plugin-n0").install_order))
    assert len(orders) == 1
    order = orders.pop()
    assert order[-1] == "plugin-n0"
    for edge in edges:
        source, target = edge.split(" -> ")
        if source in order and target in order:
            assert order.index(target) < order.index(source)


def test_install_order_keeps_installed_optional_dependencies_and_omits_missing_ones():
    edges = ["plugin-app -> plugin-crm", "plugin-app -> plugin-maps ?*", "plugin-app -> plugin-mail ?*"]
    result = resolve(graph(edges, {"plugin-crm": "1.0.0", "plugin-mail": "1.0.0"}), "plugin-app")
    assert result.install_order == ["plugin-crm", "plugin-mail", "plugin-app"]


def test_a_plugin_without_dependencies_installs_alone():
    assert resolve(graph([]), "plugin-solo").as_wire()["installOrder"] == ["plugin-solo"]


# --- get dependencies and dependents ------------------------------------------------------------


CYCLIC = ["plugin-a -> plugin-b ^1", "plugin-b -> plugin-c ?~2", "plugin-c -> plugin-a *", "plugin-c -> plugin-d 1.x"]


def test_direct_dependencies_are_only_the_plugins_own():
    found = dependencies_of(graph(CYCLIC), "plugin-c")
    assert [(d.plugin_id, d.depends_on) for d in found] == [("plugin-c", "plugin-a"), ("plugin-c", "plugin-d")]


def test_recursive_dependencies_terminate_on_a_cycle_without_duplicates():
    found = dependencies_of(graph(CYCLIC), "plugin-a", recursive=True)
    assert [(d.plugin_id, d.depends_on) for d in found] == [
        ("plugin-a", "plugin-b"), ("plugin-b", "plugin-c"), ("plugin-c", "plugin-a"), ("plugin-c", "plugin-d"),
    ]
    assert found[1].as_wire() == {
        "pluginId": "plugin-b", "dependsOnPluginId": "plugin-c", "version": "~2", "required": False,
    }


def test_dependents_direct_and_recursive_terminate_on_a_cycle():
    g = graph(CYCLIC + ["plugin-x -> plugin-d"])
    assert dependents_of(g, "plugin-d") == ["plugin-c", "plugin-x"]
    assert dependents_of(g, "plugin-d", recursive=True) == ["plugin-a", "plugin-b", "plugin-c", "plugin-x"]
    assert dependents_of(g, "plugin-a", recursive=True) == ["plugin-b", "plugin-c"]


# --- can uninstall --------------------------------------------------------------------------------


def test_uninstalling_is_blocked_transitively_with_a_reason_for_each_blocker():
    g = graph(["plugin-a -> plugin-b", "plugin-b -> plugin-c"], {"plugin-a": "1.0.0", "plugin-b": "1.0.0"})
    assert [b.as_wire() for b in uninstall_blockers(g, "plugin-c")] == [
        {"pluginId": "plugin-b", "reason": "Required dependency"},
        {"pluginId": "plugin-a", "reason": "Requires plugin-b, which requires plugin-c"},
    ]


def test_a_long_chain_names_every_link():
    installed = {p: "1.0.0" for p in ("plugin-a", "plugin-b", "plugin-c")}
    g = graph(["plugin-a -> plugin-b", "plugin-b -> plugin-c", "plugin-c -> plugin-d"], installed)
    assert uninstall_blockers(g, "plugin-d")[-1].reason == (
        "Requires plugin-b, which requires plugin-c, which requires plugin-d"
    )


def test_optional_and_not_installed_dependents_do_not_block():
    edges = ["plugin-opt -> plugin-crm ?*", "plugin-gone -> plugin-crm", "plugin-top -> plugin-gone"]
    g = graph(edges, {"plugin-opt": "1.0.0", "plugin-top": "1.0.0"})
    assert uninstall_blockers(g, "plugin-crm") == []


def test_disabled_plugins_still_block_and_a_cycle_does_not_list_the_plugin_itself():
    g = graph(["plugin-a -> plugin-b", "plugin-b -> plugin-a"], {"plugin-a": "1.0.0", "plugin-b": "1.0.0"})
    assert [b.plugin_id for b in uninstall_blockers(g, "plugin-a")] == ["plugin-b"]


# --- loading from the database ------------------------------------------------------------------


def _chain_graph(org, size):
    plugins = Plugin.objects.bulk_create(
        Plugin(organization=org, plugin_id=f"plugin-p{i:03d}", name=f"p{i}", version="1.0.0",
               lifecycle_state=Plugin.LifecycleState.INSTALLED if i else Plugin.LifecycleState.REGISTERED)
        for i in range(size)
    )
    PluginDependency.objects.bulk_create(
        PluginDependency(organization=org, plugin=plugins[i], depends_on_plugin_id=f"plugin-p{j:03d}",
                         version="^1.0.0")
        for i in range(size) for j in (2 * i + 1, 2 * i + 2) if j < size
    )


@pytest.mark.parametrize("size", [5, 200])
def test_loading_and_resolving_takes_two_queries_whatever_the_graph_size(org, size, django_assert_num_queries):
    _chain_graph(org, size)
    with django_assert_num_queries(2):
        result = resolve(DependencyGraph.load(org, "plugin-p000"), "plugin-p000")
    assert result.valid and len(result.install_order) == size and result.install_order[-1] == "plugin-p000"


def test_the_loaded_graph_holds_only_the_organizations_plugins(org, other_org):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="crm", version="1.0.0",
                          lifecycle_state=Plugin.LifecycleState.ACTIVE)
    app = Plugin.objects.create(organization=org, plugin_id="plugin-app", name="app")
    PluginDependency.objects.create(plugin=app, depends_on_plugin_id="plugin-crm", version="^1.0.0")
    loaded = DependencyGraph.load(org, "plugin-app")
    assert loaded.installed == {}
    assert resolve(loaded, "plugin-app").errors == ["Missing dependency: plugin-crm (required by plugin-app)"]
    assert not DependencyGraph.load(other_org).outgoing
