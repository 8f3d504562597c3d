"""Plugin lifecycle: install / enable / disable / uninstall through /api/v1 and the admin, with the
dependency checks, service deregistration and the recorded history."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from dependencies.models import PluginDependency
from plexica.plugins.models import LifecycleTransition, Plugin
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import issue_api_key
from registry.models import PluginService
from registry.services import Registration, find_service, register_service

State = Plugin.LifecycleState


def url(plugin_id, action):
    return f"/api/v1/plugins/{plugin_id}/{action}"


def plugin(org, plugin_id, version="1.0.0", state=State.REGISTERED):
    return Plugin.objects.create(organization=org, plugin_id=plugin_id, name=plugin_id[7:], version=version,
                                 lifecycle_state=state)


def depend(dependent, on, version="^1.0.0", required=True):
    PluginDependency.objects.create(plugin=dependent, depends_on_plugin_id=on, version=version, required=required)


def state_of(org, plugin_id):
    return Plugin.objects.get(organization=org, plugin_id=plugin_id).lifecycle_state


# --- through the API ------------------------------------------------------------------------------


def test_an_org_admin_takes_a_plugin_through_its_whole_lifecycle(api, org, org_key, crm_plugin):
    client = api(org_key.token)
    installed = client.post(url("plugin-crm", "install"), {"version": "1.2.0"}, format="json")
    assert installed.status_code == 200
    body = installed.json()
    assert body["ok"] is True
    assert body["item"]["id"] == "plugin-crm"
    assert body["item"]["lifecycleState"] == "installed" and body["item"]["version"] == "1.2.0"

    for action, expected in [("enable", "active"), ("disable", "disabled"), ("enable", "active"),
                             ("uninstall", "uninstalled"), ("install", "installed")]:
        payload = {"version": "1.3.0"} if action == "install" else None
        response = client.post(url("plugin-crm", action), payload, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["item"]["lifecycleState"] == expected

    history = list(crm_plugin.lifecycle_transitions.order_by("at", "id").values_list("action", "from_state", "to_state"))
    assert history == [
        ("install", "registered", "installed"), ("enable", "installed", "active"), ("disable", "active", "disabled"),
        ("enable", "disabled", "active"), ("uninstall", "active", "uninstalled"),
        ("install", "uninstalled", "installed"),
    ]
    last = crm_plugin.lifecycle_transitions.first()
    assert last.version == "1.3.0" and last.via == "api" and last.api_key_id == org_key.key.pk
    assert last.actor == f"API key automation ({org_key.key.prefix}…)"


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (State.REGISTERED, "enable"), (State.REGISTERED, "disable"), (State.REGISTERED, "uninstall"),
        (State.INSTALLED, "install"), (State.INSTALLED, "disable"), (State.ACTIVE, "install"),
        (State.ACTIVE, "enable"), (State.DISABLED, "disable"), (State.UNINSTALLED, "enable"),
        (State.UNINSTALLED, "disable"), (State.UNINSTALLED, "uninstall"),
    ],
)
def test_a_transition_the_state_does_not_allow_is_a_409_and_changes_nothing(api, org, org_key, state, action):
    plugin(org, "plugin-crm", state=state)
    response = api(org_key.token).post(url("plugin-crm", action), {"version": "2.0.0"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["message"].startswith(f"Cannot {action} plugin-crm: it is {state}")
    assert error["details"]["lifecycleState"] == state
    assert state_of(org, "plugin-crm") == state
    assert not LifecycleTransition.objects.exists()


def test_install_is_refused_with_the_resolve_errors_while_required_dependencies_are_unmet(api, org, org_key):
    analytics = plugin(org, "plugin-analytics")
    depend(analytics, "plugin-crm", "^2.0.0")
    depend(analytics, "plugin-mail")
    depend(analytics, "plugin-maps", "*", required=False)
    plugin(org, "plugin-crm", "1.5.0", State.ACTIVE)
    response = api(org_key.token).post(url("plugin-analytics", "install"), {"version": "1.0.0"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "dependencies_not_satisfied"
    assert error["message"] == "Cannot install plugin-analytics: its required dependencies are not satisfied."
    assert error["details"] == {
        "errors": [
            "Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0",
            "Missing dependency: plugin-mail (required by plugin-analytics)",
        ],
        "warnings": ["Missing dependency: plugin-maps (required by plugin-analytics)"],
    }
    assert state_of(org, "plugin-analytics") == State.REGISTERED
    assert not LifecycleTransition.objects.exists()


def test_enable_is_refused_when_a_dependency_declared_after_install_is_unmet(api, org, org_key):
    analytics = plugin(org, "plugin-analytics", state=State.INSTALLED)
    depend(analytics, "plugin-crm", "^2.0.0")
    response = api(org_key.token).post(url("plugin-analytics", "enable"))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "Cannot enable plugin-analytics: its required dependencies are not satisfied.")
    assert response.json()["error"]["details"]["errors"] == [
        "Missing dependency: plugin-crm (required by plugin-analytics)"]
    assert state_of(org, "plugin-analytics") == State.INSTALLED
    plugin(org, "plugin-crm", "2.1.0", State.ACTIVE)
    assert api(org_key.token).post(url("plugin-analytics", "enable")).status_code == 200


def test_install_succeeds_once_dependencies_are_installed_even_with_optional_ones_missing(api, org, org_key):
    analytics = plugin(org, "plugin-analytics")
    depend(analytics, "plugin-crm", "^1.0.0")
    depend(analytics, "plugin-maps", "*", required=False)
    plugin(org, "plugin-crm", "1.0.0")
    client = api(org_key.token)
    assert client.post(url("plugin-analytics", "install"), {"version": "1.0.0"}, format="json").status_code == 409
    assert client.post(url("plugin-crm", "install"), {"version": "1.4.0"}, format="json").status_code == 200
    response = client.post(url("plugin-analytics", "install"), {"version": "1.0.0"}, format="json")
    assert response.status_code == 200 and response.json()["item"]["lifecycleState"] == "installed"


def test_install_refuses_a_cycle(api, org, org_key):
    a, b = plugin(org, "plugin-a"), plugin(org, "plugin-b", state=State.INSTALLED)
    depend(a, "plugin-b")
    depend(b, "plugin-a")
    response = api(org_key.token).post(url("plugin-a", "install"), {"version": "1.0.0"}, format="json")
    assert response.status_code == 409
    assert "Circular dependency detected: plugin-a → plugin-b → plugin-a" in response.json()["error"]["details"]["errors"]


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "Missing required field: version"), ({"version": "1.2"}, "version: '1.2' is not a valid semantic version"),
     ({"version": "^1.0.0"}, "version: '^1.0.0' is not a valid semantic version")],
)
def test_install_needs_a_semantic_version(api, org, org_key, crm_plugin, body, message):
    response = api(org_key.token).post(url("plugin-crm", "install"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)
    assert state_of(org, "plugin-crm") == State.REGISTERED


def test_uninstall_is_refused_while_installed_plugins_require_it(api, org, org_key):
    crm = plugin(org, "plugin-crm", state=State.ACTIVE)
    depend(plugin(org, "plugin-sales", state=State.DISABLED), "plugin-crm")
    depend(plugin(org, "plugin-board", state=State.ACTIVE), "plugin-sales")
    depend(plugin(org, "plugin-maps", state=State.ACTIVE), "plugin-crm", required=False)
    contacts = Registration(plugin_id="plugin-crm", service_name="crm.contacts", version="1.0.0")
    register_service(Principal.system(org), contacts)
    response = api(org_key.token).post(url("plugin-crm", "uninstall"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "plugin_required"
    assert error["message"] == "Cannot uninstall plugin-crm: installed plugins require it."
    assert error["details"]["blockedBy"] == [
        {"pluginId": "plugin-sales", "reason": "Required dependency"},
        {"pluginId": "plugin-board", "reason": "Requires plugin-sales, which requires plugin-crm"},
    ]
    assert state_of(org, "plugin-crm") == State.ACTIVE
    assert PluginService.objects.filter(plugin=crm).exists()


def test_uninstall_deregisters_the_plugins_services_and_nobody_elses(
    api, org, org_key, django_capture_on_commit_callbacks
):
    plugin(org, "plugin-crm", state=State.ACTIVE)
    for name, owner in [("crm.contacts", "plugin-crm"), ("crm.deals", "plugin-crm"), ("mail.send", "plugin-mail")]:
        register_service(Principal.system(org), Registration(plugin_id=owner, service_name=name, version="1.0.0"))
    assert find_service(org, "crm.contacts") is not None  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org_key.token).post(url("plugin-crm", "uninstall"))
    assert response.status_code == 200 and response.json()["item"]["lifecycleState"] == "uninstalled"
    assert list(PluginService.objects.values_list("service_name", flat=True)) == ["mail.send"]
    assert find_service(org, "crm.contacts") is None


def test_an_admin_members_key_may_and_the_transition_names_the_person(api, org, org_admin, crm_plugin):
    _, token = issue_api_key(org, name="ada's key", membership=org_admin)
    assert api(token).post(url("plugin-crm", "install"), {"version": "1.0.0"}, format="json").status_code == 200
    transition = crm_plugin.lifecycle_transitions.get()
    assert transition.actor == "ada" and transition.user == org_admin.user


def test_plugin_keys_and_plain_members_cannot_change_the_lifecycle(api, org, plugin_key, member_key):
    for token in (plugin_key.token, member_key.token):
        response = api(token).post(url("plugin-crm", "install"), {"version": "1.0.0"}, format="json")
        assert response.status_code == 403
    assert state_of(org, "plugin-crm") == State.REGISTERED


def test_unknown_and_foreign_plugins_are_404(api, org_key, other_org, other_org_key):
    plugin(other_org, "plugin-erp")
    client = api(org_key.token)
    for plugin_id in ("plugin-nobody", "plugin-erp"):
        response = client.post(url(plugin_id, "install"), {"version": "1.0.0"}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert api(other_org_key.token).post(url("plugin-erp", "enable")).status_code == 403
    assert state_of(other_org, "plugin-erp") == State.REGISTERED


def test_lifecycle_routes_need_the_tenant_header(api, org_key, crm_plugin):
    response = api(org_key.token, tenant=None).post(url("plugin-crm", "enable"))
    assert response.status_code == 401


# --- through the admin ----------------------------------------------------------------------------


def admin_action(client, action, *plugins):
    return client.post(
        reverse("admin:plugins_plugin_changelist"),
        {"action": action, "_selected_action": [p.pk for p in plugins]},
        follow=True,
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_admin_actions_install_enable_disable_and_uninstall_and_record_who(client, org, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    for action, expected, message in [
        ("install_selected", State.INSTALLED, "Installed 1 plugin: plugin-crm 1.0.0."),
        ("enable_selected", State.ACTIVE, "Enabled 1 plugin: plugin-crm."),
        ("disable_selected", State.DISABLED, "Disabled 1 plugin: plugin-crm."),
        ("uninstall_selected", State.UNINSTALLED, "Uninstalled 1 plugin: plugin-crm."),
    ]:
        response = admin_action(client, action, crm_plugin)
        assert messages_of(response) == [message]
        assert state_of(org, "plugin-crm") == expected
    transitions = crm_plugin.lifecycle_transitions.all()
    assert {t.via for t in transitions} == {"admin"} and {t.actor for t in transitions} == {"ada"}

    page = client.get(reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)])).content.decode()
    assert "lifecycle history" in page.lower()
    assert page.count("<td>ada</td><td>Admin</td>") == 4
    assert ('<td>Uninstall</td><td><span class="badge badge-yellow">Disabled</span> → '
            '<span class="badge badge-grey">Uninstalled</span></td>') in page


def test_admin_install_refuses_with_the_same_messages_as_the_api(client, org, org_admin):
    analytics = plugin(org, "plugin-analytics")
    depend(analytics, "plugin-crm", "^2.0.0")
    plugin(org, "plugin-crm", "1.5.0", State.ACTIVE)
    client.force_login(org_admin.user)
    response = admin_action(client, "install_selected", analytics)
    assert messages_of(response) == [(
        "Cannot install plugin-analytics: its required dependencies are not satisfied. "
        "Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0"
    )]
    assert state_of(org, "plugin-analytics") == State.REGISTERED


def test_admin_uninstall_refuses_while_required_and_names_the_blockers(client, org, org_admin):
    crm = plugin(org, "plugin-crm", state=State.ACTIVE)
    depend(plugin(org, "plugin-sales", state=State.ACTIVE), "plugin-crm")
    client.force_login(org_admin.user)
    response = admin_action(client, "uninstall_selected", crm)
    assert messages_of(response) == [
        "Cannot uninstall plugin-crm: installed plugins require it. Blocked by: plugin-sales (Required dependency)."
    ]
    assert state_of(org, "plugin-crm") == State.ACTIVE


def test_admin_installs_a_plugin_with_its_dependency_selected_together(client, org, org_admin):
    app = plugin(org, "plugin-app")
    crm = plugin(org, "plugin-zcrm")
    depend(app, "plugin-zcrm")
    client.force_login(org_admin.user)
    response = admin_action(client, "install_selected", app, crm)
    assert messages_of(response) == ["Installed 2 plugins: plugin-zcrm 1.0.0, plugin-app 1.0.0."]
    assert state_of(org, "plugin-app") == state_of(org, "plugin-zcrm") == State.INSTALLED


def test_admin_reports_an_invalid_transition(client, org, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    response = admin_action(client, "disable_selected", crm_plugin)
    assert messages_of(response) == [
        "Cannot disable plugin-crm: it is registered, and disable needs a plugin that is active."
    ]


def test_the_lifecycle_state_cannot_be_edited_around_the_checks(client, org, org_admin, crm_plugin):
    depend(crm_plugin, "plugin-mail")
    client.force_login(org_admin.user)
    form = {
        "plugin_id": "plugin-crm", "name": "CRM", "description": "", "version": "1.0.0", "manifest": "{}",
        "lifecycle_state": "active", "catalog_status": "active",
        "permission_grants-TOTAL_FORMS": "0", "permission_grants-INITIAL_FORMS": "0",
        "permission_grants-MIN_NUM_FORMS": "0", "permission_grants-MAX_NUM_FORMS": "1000",
    }
    response = client.post(reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)]), form)
    assert response.status_code == 302, response.context["errors"]
    assert state_of(org, "plugin-crm") == State.REGISTERED


def test_an_admin_sees_only_their_organizations_lifecycle_history(client, org, other_org, org_admin, crm_plugin):
    erp = plugin(other_org, "plugin-erp")
    client.force_login(org_admin.user)
    admin_action(client, "install_selected", crm_plugin, erp)  # the foreign one is not even in the queryset
    assert state_of(other_org, "plugin-erp") == State.REGISTERED
    response = client.get(reverse("admin:plugins_lifecycletransition_changelist"))
    assert [t.plugin.plugin_id for t in response.context["cl"].result_list] == ["plugin-crm"]
