"""Plugin gateway endpoints 11-15: the seed's wire format, validation, ownership and tenant isolation."""

import pytest

from dependencies.models import PluginDependency
from plexica.plugins.models import Plugin

BASE = "/api/plugin-gateway/dependencies"
SEED_BODY = {
    "dependencies": [
        {"pluginId": "plugin-analytics", "dependsOnPluginId": "plugin-crm", "version": "^1.0.0", "required": True},
        {"pluginId": "plugin-analytics", "dependsOnPluginId": "plugin-marketing", "version": ">=2.0.0",
         "required": False},
    ]
}


def entry(plugin_id, depends_on, version="^1.0.0", **extra):
    return {"pluginId": plugin_id, "dependsOnPluginId": depends_on, "version": version, **extra}


def register(client, *entries):
    return client.post(BASE, {"dependencies": list(entries)}, format="json")


def installed(org, plugin_id, version="1.0.0", state=Plugin.LifecycleState.ACTIVE):
    plugin, _ = Plugin.objects.update_or_create(
        organization=org, plugin_id=plugin_id,
        defaults={"name": plugin_id[7:], "version": version, "lifecycle_state": state},
    )
    return plugin


def stored(org):
    return sorted(
        PluginDependency.objects.filter(organization=org).values_list(
            "plugin__plugin_id", "depends_on_plugin_id", "version", "required"
        )
    )


# --- register -----------------------------------------------------------------------------------


def test_registering_the_seed_example_answers_201_and_adds_the_plugin_to_the_catalog(api, org, org_key):
    response = api(org_key.token).post(BASE, SEED_BODY, format="json")
    assert response.status_code == 201
    assert response.json() == {"success": True, "message": "Dependencies registered"}
    assert stored(org) == [
        ("plugin-analytics", "plugin-crm", "^1.0.0", True),
        ("plugin-analytics", "plugin-marketing", ">=2.0.0", False),
    ]
    analytics = Plugin.objects.get(organization=org, plugin_id="plugin-analytics")
    assert analytics.lifecycle_state == Plugin.LifecycleState.REGISTERED and analytics.name == "analytics"
    # a named dependency is not added to the catalog: it is reported missing instead
    assert not Plugin.objects.filter(organization=org, plugin_id="plugin-marketing").exists()


def test_required_defaults_to_true(api, org, org_key):
    assert register(api(org_key.token), entry("plugin-a", "plugin-b")).status_code == 201
    assert stored(org) == [("plugin-a", "plugin-b", "^1.0.0", True)]


def test_registering_again_replaces_each_named_plugins_list_and_leaves_the_others(api, org, org_key):
    client = api(org_key.token)
    register(client, entry("plugin-a", "plugin-b"), entry("plugin-a", "plugin-c"), entry("plugin-x", "plugin-y"))
    assert register(client, entry("plugin-a", "plugin-d", "~2.1")).status_code == 201
    assert stored(org) == [("plugin-a", "plugin-d", "~2.1", True), ("plugin-x", "plugin-y", "^1.0.0", True)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry("plugin-a", "plugin-c", "^^1"), "dependencies[1].version: '^^1' is not a valid npm version range"),
        (entry("plugin-a", "plugin-c", "1.x.3"), "dependencies[1].version: '1.x.3' is not a valid npm version range"),
        (entry("plugin-a", "plugin-c", "^1.0.0+" + "b" * 1018),
         "dependencies[1].version: Ensure this field has no more than 1024 characters."),
        (entry("plugin-a", "Plugin C"), "dependencies[1].dependsOnPluginId: Must look like plugin-{name}"),
        (entry("crm", "plugin-c"), "dependencies[1].pluginId: Must look like plugin-{name}"),
        (entry("plugin-a", "plugin-a"), "dependencies[1].dependsOnPluginId: A plugin cannot depend on itself."),
        (entry("plugin-a", "plugin-c", required="yes"), "dependencies[1].required: Must be true or false."),
        (entry("plugin-a", "plugin-c", required=1), "dependencies[1].required: Must be true or false."),
        ({"pluginId": "plugin-a", "dependsOnPluginId": "plugin-c"}, "Missing required field: dependencies[1].version"),
        (entry("plugin-new", "plugin-b"), "dependencies[1].dependsOnPluginId: Repeats dependencies[0]"),
        ("plugin-c", "dependencies[1]: Invalid data."),
        # Non-strings: a RegexField's "plugin-{name}" message was str.format()ted (a 500); 1 was taken as "1".
        (entry("plugin-a", True), "dependencies[1].dependsOnPluginId: Must be a string."),
        (entry(["plugin-a"], "plugin-c"), "dependencies[1].pluginId: Must be a string."),
        (entry("plugin-a", {"id": "plugin-c"}), "dependencies[1].dependsOnPluginId: Must be a string."),
        (entry("plugin-a", "plugin-c", 1), "dependencies[1].version: Must be a string."),
    ],
)
def test_a_bad_entry_is_a_400_naming_it_and_nothing_stored_changes(api, org, org_key, bad, message):
    client = api(org_key.token)
    register(client, entry("plugin-a", "plugin-b"))
    before = (stored(org), Plugin.objects.count())
    if isinstance(bad, dict) and bad.get("pluginId") == "plugin-new":
        first = entry("plugin-new", "plugin-b")  # the same pair twice in one request
    else:
        first = entry("plugin-a", "plugin-z")
    response = register(client, first, bad)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid request"
    assert body["message"].startswith(message), body
    assert (stored(org), Plugin.objects.count()) == before


def test_an_empty_version_range_registers_and_means_any_version_as_in_npm(api, org, org_key):
    client = api(org_key.token)
    response = register(client, entry("plugin-app", "plugin-crm", ""), entry("plugin-app", "plugin-mail", ""))
    assert response.status_code == 201
    assert stored(org) == [("plugin-app", "plugin-crm", "", True), ("plugin-app", "plugin-mail", "", True)]
    assert client.get(f"{BASE}/plugin-app").json()["dependencies"][0]["version"] == ""
    installed(org, "plugin-crm", "7.3.1")
    installed(org, "plugin-mail", "2.0.0-rc.1")  # as for `*`, a prerelease is not any version
    assert client.post(f"{BASE}/plugin-app/resolve").json()["errors"] == [
        "Version mismatch: plugin-mail@2.0.0-rc.1 does not satisfy * (an empty range)",
    ]


def test_a_range_longer_than_npms_version_limit_registers(api, org, org_key):
    long_range = "1.2.3+" + "a" * 251 + " - 2.0.0"  # npm strips the build metadata; 265 characters
    response = register(api(org_key.token), entry("plugin-app", "plugin-crm", long_range))
    assert response.status_code == 201
    assert stored(org) == [("plugin-app", "plugin-crm", long_range, True)]


@pytest.mark.parametrize("body", [{}, {"dependencies": []}, {"dependencies": "plugin-a"}])
def test_a_missing_or_empty_list_is_a_400(api, org_key, body):
    response = api(org_key.token).post(BASE, body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(("Missing required field: dependencies", "dependencies:"))


def test_a_body_that_is_not_json_is_refused_without_changes(api, org, org_key):
    response = api(org_key.token).post(BASE, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert stored(org) == []


def test_a_plugin_key_registers_its_own_plugins_dependencies(api, org, plugin_key):
    response = register(api(plugin_key.token), entry("plugin-crm", "plugin-mail", ">=1.2.0 <2"))
    assert response.status_code == 201
    assert stored(org) == [("plugin-crm", "plugin-mail", ">=1.2.0 <2", True)]


def test_a_plugin_key_cannot_register_another_plugins_dependencies(api, org, plugin_key):
    response = register(
        api(plugin_key.token), entry("plugin-crm", "plugin-mail"), entry("plugin-analytics", "plugin-crm")
    )
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"
    assert "plugin-analytics" in response.json()["message"]
    assert stored(org) == []
    assert not Plugin.objects.filter(plugin_id="plugin-analytics").exists()


def test_a_plain_members_key_cannot_register_dependencies_but_can_read_them(api, org, org_key, member_key):
    register(api(org_key.token), entry("plugin-a", "plugin-b"))
    client = api(member_key.token)
    assert register(client, entry("plugin-a", "plugin-c")).status_code == 403
    assert stored(org) == [("plugin-a", "plugin-b", "^1.0.0", True)]
    assert client.get(f"{BASE}/plugin-a").json()["count"] == 1


# --- resolve ------------------------------------------------------------------------------------


def test_resolve_answers_200_with_the_install_order_when_everything_is_installed(api, org, org_key):
    client = api(org_key.token)
    client.post(BASE, SEED_BODY, format="json")
    installed(org, "plugin-crm", "1.4.2")
    installed(org, "plugin-marketing", "2.0.0", Plugin.LifecycleState.DISABLED)
    response = client.post(f"{BASE}/plugin-analytics/resolve")
    assert response.status_code == 200
    assert response.json() == {
        "valid": True, "errors": [], "warnings": [],
        "installOrder": ["plugin-crm", "plugin-marketing", "plugin-analytics"],
    }


def test_resolve_answers_400_with_errors_and_warnings_when_not_satisfied(api, org, org_key):
    client = api(org_key.token)
    register(
        client, entry("plugin-analytics", "plugin-crm", "^2.0.0"), entry("plugin-analytics", "plugin-mail"),
        entry("plugin-analytics", "plugin-maps", "*", required=False),
    )
    installed(org, "plugin-crm", "1.5.0")
    response = client.post(f"{BASE}/plugin-analytics/resolve")
    assert response.status_code == 400
    assert response.json() == {
        "valid": False,
        "errors": [
            "Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0",
            "Missing dependency: plugin-mail (required by plugin-analytics)",
        ],
        "warnings": ["Missing dependency: plugin-maps (required by plugin-analytics)"],
    }


def test_resolve_reports_a_registered_cycle(api, org_key):
    client = api(org_key.token)
    register(client, entry("plugin-a", "plugin-b"), entry("plugin-b", "plugin-c"), entry("plugin-c", "plugin-a"))
    response = client.post(f"{BASE}/plugin-b/resolve")
    assert response.status_code == 400
    assert response.json()["errors"][0] == "Circular dependency detected: plugin-b → plugin-c → plugin-a → plugin-b"


def test_plugins_that_are_registered_or_uninstalled_do_not_count_as_installed(api, org, org_key):
    client = api(org_key.token)
    register(client, entry("plugin-app", "plugin-crm"), entry("plugin-app", "plugin-mail"))
    installed(org, "plugin-crm", state=Plugin.LifecycleState.REGISTERED)
    installed(org, "plugin-mail", state=Plugin.LifecycleState.UNINSTALLED)
    assert client.post(f"{BASE}/plugin-app/resolve").json()["errors"] == [
        "Missing dependency: plugin-crm (required by plugin-app)",
        "Missing dependency: plugin-mail (required by plugin-app)",
    ]


def test_resolving_an_unknown_plugin_is_a_404(api, org_key):
    response = api(org_key.token).post(f"{BASE}/plugin-nobody/resolve")
    assert response.status_code == 404
    assert response.json() == {"error": "Plugin not found", "pluginId": "plugin-nobody"}


def test_a_catalog_plugin_without_dependencies_resolves_to_itself(api, org_key, crm_plugin):
    response = api(org_key.token).post(f"{BASE}/plugin-crm/resolve")
    assert response.status_code == 200 and response.json()["installOrder"] == ["plugin-crm"]


def _tree(org, size):
    """plugin-p000 at the top of a binary tree of `size` installed plugins."""
    plugins = Plugin.objects.bulk_create(
        Plugin(organization=org, plugin_id=f"plugin-p{i:03d}", name=f"p{i}", version="1.2.0",
               lifecycle_state=Plugin.LifecycleState.ACTIVE)
        for i in range(size)
    )
    PluginDependency.objects.bulk_create(
        PluginDependency(organization=org, plugin=plugins[i], depends_on_plugin_id=f"plugin-p{j:03d}", version="^1.0.0")
        for i in range(size) for j in (2 * i + 1, 2 * i + 2) if j < size
    )


@pytest.mark.parametrize("size", [3, 200])
def test_resolve_does_the_same_few_queries_whatever_the_graph_size(
    api, org, org_key, size, django_assert_max_num_queries
):
    _tree(org, size)
    client = api(org_key.token)
    client.post(f"{BASE}/plugin-p000/resolve")  # warm the key's last-used time
    with django_assert_max_num_queries(3):  # the key, the edges, the plugins
        response = client.post(f"{BASE}/plugin-p000/resolve")
    assert response.status_code == 200 and len(response.json()["installOrder"]) == size


# --- get dependencies, dependents, can-uninstall ------------------------------------------------


def test_get_dependencies_answers_the_seed_shape(api, org_key):
    client = api(org_key.token)
    client.post(BASE, SEED_BODY, format="json")
    response = client.get(f"{BASE}/plugin-analytics")
    assert response.status_code == 200
    assert response.json() == {"pluginId": "plugin-analytics", "dependencies": SEED_BODY["dependencies"], "count": 2}


def test_recursive_dependencies_follow_a_cycle_once(api, org_key):
    client = api(org_key.token)
    register(client, entry("plugin-a", "plugin-b"), entry("plugin-b", "plugin-c", "~2", required=False),
             entry("plugin-c", "plugin-a", "*"))
    direct = client.get(f"{BASE}/plugin-a").json()
    assert direct["count"] == 1
    body = client.get(f"{BASE}/plugin-a", {"recursive": "true"}).json()
    assert [(d["pluginId"], d["dependsOnPluginId"]) for d in body["dependencies"]] == [
        ("plugin-a", "plugin-b"), ("plugin-b", "plugin-c"), ("plugin-c", "plugin-a"),
    ]
    assert body["count"] == 3 and body["dependencies"][1]["required"] is False


def test_a_plugin_only_named_as_a_dependency_is_known_with_no_dependencies(api, org_key):
    client = api(org_key.token)
    register(client, entry("plugin-a", "plugin-ghost"))
    assert client.get(f"{BASE}/plugin-ghost").json() == {"pluginId": "plugin-ghost", "dependencies": [], "count": 0}


def test_recursive_must_be_true_or_false(api, org_key, crm_plugin):
    response = api(org_key.token).get(f"{BASE}/plugin-crm", {"recursive": "maybe"})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request", "message": "recursive: Must be true or false."}


def test_dependents_direct_and_recursive(api, org_key):
    client = api(org_key.token)
    register(
        client, entry("plugin-analytics", "plugin-crm"), entry("plugin-sales", "plugin-crm", required=False),
        entry("plugin-dashboard", "plugin-analytics"), entry("plugin-crm", "plugin-dashboard"),
    )
    assert client.get(f"{BASE}/plugin-crm/dependents").json() == {
        "pluginId": "plugin-crm", "dependents": ["plugin-analytics", "plugin-sales"], "count": 2,
    }
    recursive = client.get(f"{BASE}/plugin-crm/dependents", {"recursive": "true"}).json()
    assert recursive["dependents"] == ["plugin-analytics", "plugin-dashboard", "plugin-sales"]
    assert recursive["count"] == 3


def test_can_uninstall_lists_installed_plugins_that_require_it_transitively(api, org, org_key):
    client = api(org_key.token)
    register(client, entry("plugin-a", "plugin-b"), entry("plugin-b", "plugin-c"),
             entry("plugin-opt", "plugin-c", required=False))
    for plugin_id in ("plugin-a", "plugin-b", "plugin-c", "plugin-opt"):
        installed(org, plugin_id)
    response = client.post(f"{BASE}/plugin-c/can-uninstall")
    assert response.status_code == 200
    assert response.json() == {
        "canUninstall": False,
        "blockedBy": [
            {"pluginId": "plugin-b", "reason": "Required dependency"},
            {"pluginId": "plugin-a", "reason": "Requires plugin-b, which requires plugin-c"},
        ],
    }
    assert client.post(f"{BASE}/plugin-a/can-uninstall").json() == {"canUninstall": True, "blockedBy": []}


# --- authentication and tenant isolation ----------------------------------------------------------


ENDPOINTS = [
    ("post", BASE),
    ("get", f"{BASE}/plugin-secret"),
    ("post", f"{BASE}/plugin-secret/resolve"),
    ("get", f"{BASE}/plugin-secret/dependents"),
    ("post", f"{BASE}/plugin-secret/can-uninstall"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_tenant_header(api, org_key, method, path):
    response = getattr(api(org_key.token, tenant=None), method)(path, SEED_BODY, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": "X-Tenant-Slug header required"}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_a_credential_of_the_named_organization(api, other_org_key, method, path):
    assert getattr(api(), method)(path, SEED_BODY, format="json").status_code == 401
    assert getattr(api(other_org_key.token), method)(path, SEED_BODY, format="json").status_code == 403


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[1:])
def test_another_organizations_plugins_are_unknown_here(api, org, other_org, org_key, other_org_key, method, path):
    secret = installed(other_org, "plugin-secret")
    installed(other_org, "plugin-crm")
    PluginDependency.objects.create(plugin=secret, depends_on_plugin_id="plugin-crm", version="^1.0.0")
    response = getattr(api(org_key.token), method)(path)
    assert response.status_code == 404
    assert response.json()["pluginId"] == "plugin-secret"
    assert getattr(api(other_org_key.token, tenant="globex"), method)(path).status_code == 200


def test_the_same_plugin_ids_in_two_organizations_have_separate_graphs(api, org, other_org, org_key, other_org_key):
    ours, theirs = api(org_key.token), api(other_org_key.token, tenant="globex")
    register(ours, entry("plugin-app", "plugin-crm", "^1.0.0"))
    register(theirs, entry("plugin-app", "plugin-erp", "^3.0.0"), entry("plugin-crm", "plugin-app"))
    installed(org, "plugin-crm", "1.0.0")
    installed(other_org, "plugin-app", "1.0.0")

    assert ours.get(f"{BASE}/plugin-app").json()["dependencies"][0]["dependsOnPluginId"] == "plugin-crm"
    assert ours.post(f"{BASE}/plugin-app/resolve").json()["installOrder"] == ["plugin-crm", "plugin-app"]
    assert ours.get(f"{BASE}/plugin-app/dependents").json()["dependents"] == []
    assert ours.post(f"{BASE}/plugin-crm/can-uninstall").json()["canUninstall"] is True  # app not installed here
    assert theirs.get(f"{BASE}/plugin-app/dependents").json()["dependents"] == ["plugin-crm"]
    assert theirs.post(f"{BASE}/plugin-app/resolve").json()["errors"] == [
        "Missing dependency: plugin-erp (required by plugin-app)"
    ]
    assert stored(org) == [("plugin-app", "plugin-crm", "^1.0.0", True)]
