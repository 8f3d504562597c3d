"""Plugin capabilities: granted by org admins (API, admin), by install (narrowed or not), the legacy default,
and the platform's refusals on every guarded action, with the extensions seed's 403 body."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from plexica.errors import Forbidden
from plexica.events.models import Event
from plexica.plugins import capabilities
from plexica.plugins.models import Plugin, PluginCapabilityGrant
from plexica.tenancy.models import ApiKey
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import issue_api_key
from tests.conftest import IssuedKey

CAPS = "/api/v1/plugins/plugin-crm/capabilities"
REGISTER = "/api/plugin-gateway/services/register"


def service_body(**extra):
    return {"pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
            "baseUrl": "http://localhost:3100", "endpoints": [{"method": "GET", "path": "/contacts"}], **extra}


@pytest.fixture
def requesting_plugin(org):
    """plugin-crm whose manifest requests ROUTES and TOOLS (not installed yet: it holds nothing)."""
    return Plugin.objects.create(organization=org, plugin_id="plugin-crm", name="CRM", version="1.0.0",
                                 manifest={"capabilities": ["ROUTES", "TOOLS"]})


@pytest.fixture
def bare_plugin_key(org):
    """The key of plugin-crm whose manifest requests nothing explicitly ([]): it holds no capability."""
    plugin = Plugin.objects.create(organization=org, plugin_id="plugin-crm", name="CRM", version="1.0.0",
                                   manifest={"capabilities": []})
    return IssuedKey(*issue_api_key(org, name="crm", plugin=plugin))


def events_of(event_type):
    return [(e.data["pluginId"], e.data["capability"], e.data["via"])
            for e in Event.objects.filter(type=event_type).order_by("position")]


def assert_capability_refusal(response, required, granted, gateway=False):
    assert response.status_code == 403, response.content
    body = response.json()
    if gateway:
        assert body["error"] == "Forbidden"
        details = body
    else:
        assert body["error"]["code"] == "capability_required"
        details = body["error"]["details"]
    assert details["required_capability"] == required
    assert details["granted_capabilities"] == granted


# Granting and revoking through the API


def test_org_admin_grants_lists_and_revokes_a_capability_with_events(api, org_key, requesting_plugin):
    client = api(org_key.token)
    assert client.get(CAPS).json() == {"items": [], "nextCursor": None}
    created = client.post(CAPS, {"capability": "TOOLS"}, format="json")
    assert created.status_code == 201
    assert created.json()["item"]["capability"] == "TOOLS"
    assert created.json()["item"]["requested"] is True
    again = client.post(CAPS, {"capability": "TOOLS"}, format="json")
    assert again.status_code == 200
    assert [i["capability"] for i in client.get(CAPS).json()["items"]] == ["TOOLS"]
    assert client.delete(f"{CAPS}/TOOLS").status_code == 204
    assert client.get(CAPS).json()["items"] == []
    assert client.delete(f"{CAPS}/TOOLS").status_code == 404
    assert client.delete(f"{CAPS}/NOT_ONE").status_code == 404
    assert events_of("plugin.capability_granted") == [("plugin-crm", "TOOLS", "api")]
    assert events_of("plugin.capability_revoked") == [("plugin-crm", "TOOLS", "api")]
    # Soft revocation: the row stays, revoked.
    assert PluginCapabilityGrant.objects.get(plugin=requesting_plugin).revoked_at is not None


@pytest.mark.parametrize("body", [{"capability": "ROOT"}, {"capability": 1}, {"capability": ["ROUTES"]}, {},
                                  {"capability": "ROUTES", "extra": True}])
def test_a_malformed_grant_is_400_and_nothing_changes(api, org_key, requesting_plugin, body):
    response = api(org_key.token).post(CAPS, body, format="json")
    assert response.status_code == 400
    assert not PluginCapabilityGrant.objects.exists()


def test_a_member_and_a_plugin_key_may_not_grant(api, member_key, requesting_plugin, org):
    key = IssuedKey(*issue_api_key(org, name="crm", plugin=requesting_plugin))
    for token in (member_key.token, key.token):
        assert api(token).post(CAPS, {"capability": "ROUTES"}, format="json").status_code == 403
        assert api(token).get(CAPS).status_code == 403
        assert api(token).delete(f"{CAPS}/ROUTES").status_code == 403
    assert not PluginCapabilityGrant.objects.exists()


def test_another_orgs_admin_gets_404(api, other_org_key, requesting_plugin):
    client = api(other_org_key.token, tenant="globex")
    assert client.get(CAPS).status_code == 404
    assert client.post(CAPS, {"capability": "ROUTES"}, format="json").status_code == 404
    assert client.delete(f"{CAPS}/ROUTES").status_code == 404
    assert not PluginCapabilityGrant.objects.exists()


# The legacy default


def test_a_plugin_whose_manifest_requests_nothing_holds_the_legacy_default(api, org_key, crm_plugin):
    assert capabilities.granted_capabilities(crm_plugin) == ["ROUTES", "EVENTS_PUB", "EVENTS_SUB"]
    items = api(org_key.token).get(CAPS).json()["items"]
    assert [(i["capability"], i["default"]) for i in items] == [
        ("ROUTES", True), ("EVENTS_PUB", True), ("EVENTS_SUB", True)]
    assert not PluginCapabilityGrant.objects.exists()


def test_granting_to_a_legacy_plugin_keeps_its_default_and_revoking_one_keeps_the_rest(api, org_key, crm_plugin):
    client = api(org_key.token)
    assert client.post(CAPS, {"capability": "TOOLS"}, format="json").status_code == 201
    assert capabilities.granted_capabilities(crm_plugin) == ["ROUTES", "TOOLS", "EVENTS_PUB", "EVENTS_SUB"]
    assert client.delete(f"{CAPS}/ROUTES").status_code == 204
    assert capabilities.granted_capabilities(crm_plugin) == ["TOOLS", "EVENTS_PUB", "EVENTS_SUB"]
    for name in ("TOOLS", "EVENTS_PUB", "EVENTS_SUB"):
        assert client.delete(f"{CAPS}/{name}").status_code == 204
    assert capabilities.granted_capabilities(crm_plugin) == []  # all revoked is not the legacy default again


def test_a_legacy_plugin_key_registers_and_emits_as_before(api, plugin_key):
    client = api(plugin_key.token)
    assert client.post(REGISTER, service_body(), format="json").status_code == 201
    assert client.post("/api/v1/events", {"type": "plugin-crm.contact.created", "data": {}},
                       format="json").status_code == 201
    assert client.get("/api/v1/events").status_code == 200


# Install


def lifecycle(client, action, **body):
    return client.post(f"/api/v1/plugins/plugin-crm/{action}", body, format="json")


def test_install_grants_what_the_manifest_requests(api, org_key, requesting_plugin):
    client = api(org_key.token)
    assert lifecycle(client, "install", version="1.0.0").status_code == 200
    assert capabilities.granted_capabilities(requesting_plugin) == ["ROUTES", "TOOLS"]
    assert events_of("plugin.capability_granted") == [("plugin-crm", "ROUTES", "install"),
                                                      ("plugin-crm", "TOOLS", "install")]


def test_install_narrows_to_a_subset_and_refuses_one_not_requested(api, org_key, requesting_plugin):
    client = api(org_key.token)
    refused = lifecycle(client, "install", version="1.0.0", capabilities=["ROUTES", "EVENTS_PUB"])
    assert refused.status_code == 400
    assert "EVENTS_PUB" in refused.json()["error"]["message"]
    requesting_plugin.refresh_from_db()
    assert requesting_plugin.lifecycle_state == "registered"  # nothing changed
    assert lifecycle(client, "install", version="1.0.0", capabilities=["NOPE"]).status_code == 400
    assert lifecycle(client, "install", version="1.0.0", capabilities="ROUTES").status_code == 400
    assert lifecycle(client, "install", version="1.0.0", capabilities=["ROUTES"]).status_code == 200
    assert capabilities.granted_capabilities(requesting_plugin) == ["ROUTES"]


def test_reinstall_after_uninstall_sets_the_capabilities_to_the_install_set_again(api, org_key, requesting_plugin):
    client = api(org_key.token)
    assert lifecycle(client, "install", version="1.0.0", capabilities=["ROUTES"]).status_code == 200
    assert client.post(CAPS, {"capability": "EVENTS_SUB"}, format="json").status_code == 201
    assert lifecycle(client, "uninstall").status_code == 200
    assert capabilities.granted_capabilities(requesting_plugin) == ["ROUTES", "EVENTS_SUB"]  # uninstall keeps them
    assert lifecycle(client, "install", version="1.1.0").status_code == 200
    assert capabilities.granted_capabilities(requesting_plugin) == ["ROUTES", "TOOLS"]
    assert ("plugin-crm", "EVENTS_SUB", "install") in events_of("plugin.capability_revoked")


def test_a_legacy_plugin_installs_with_its_default_and_may_narrow_it(api, org_key, crm_plugin):
    client = api(org_key.token)
    assert lifecycle(client, "install", version="1.0.0", capabilities=["ROUTES"]).status_code == 200
    assert capabilities.granted_capabilities(crm_plugin) == ["ROUTES"]
    assert lifecycle(client, "install", version="1.0.0", capabilities=["TOOLS"]).status_code == 409  # installed


def test_a_manifest_with_an_unknown_capability_cannot_be_installed(api, org_key, org):
    Plugin.objects.create(organization=org, plugin_id="plugin-crm", name="CRM", manifest={"capabilities": ["ROOT"]})
    response = lifecycle(api(org_key.token), "install", version="1.0.0")
    assert response.status_code == 400
    assert "ROOT" in response.json()["error"]["message"]


# Refusals on every guarded action


def test_registering_a_service_needs_routes(api, bare_plugin_key):
    response = api(bare_plugin_key.token).post(REGISTER, service_body(), format="json")
    assert_capability_refusal(response, "ROUTES", [], gateway=True)


def test_an_endpoint_declaring_an_input_schema_needs_tools(api, org, bare_plugin_key):
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "ROUTES")
    tool = {"method": "POST", "path": "/tools/create", "metadata": {"inputSchema": {"type": "object"}}}
    response = api(bare_plugin_key.token).post(REGISTER, service_body(endpoints=[tool]), format="json")
    assert_capability_refusal(response, "TOOLS", ["ROUTES"], gateway=True)
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    assert api(bare_plugin_key.token).post(REGISTER, service_body(endpoints=[tool]), format="json").status_code == 201


def test_emitting_an_event_needs_events_pub(api, bare_plugin_key):
    response = api(bare_plugin_key.token).post("/api/v1/events", {"type": "plugin-crm.x", "data": {}}, format="json")
    assert_capability_refusal(response, "EVENTS_PUB", [])
    assert not Event.objects.filter(type="plugin-crm.x").exists()


def test_reading_and_following_events_need_events_sub(api, bare_plugin_key):
    client = api(bare_plugin_key.token)
    assert_capability_refusal(client.get("/api/v1/events"), "EVENTS_SUB", [])
    assert_capability_refusal(client.get("/api/v1/events/stream?maxEvents=1"), "EVENTS_SUB", [])


def test_subscribing_a_webhook_needs_events_sub(api, bare_plugin_key):
    response = api(bare_plugin_key.token).post(
        "/api/v1/webhooks", {"url": "https://93.184.216.34/hooks", "events": ["*"]}, format="json")
    assert_capability_refusal(response, "EVENTS_SUB", [])


def test_an_org_admin_acting_on_their_own_needs_no_capability(api, org_key, bare_plugin_key):
    assert api(org_key.token).post(REGISTER, service_body(), format="json").status_code == 201


def test_require_capability_and_holds_capability_for_the_mcp_tools(org, requesting_plugin):
    assert not capabilities.holds_capability(requesting_plugin, "TOOLS")
    with pytest.raises(Forbidden) as refused:
        capabilities.require_capability(requesting_plugin, "TOOLS", "exposing a tool")
    assert refused.value.extra == {"required_capability": "TOOLS", "granted_capabilities": []}
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    assert capabilities.holds_capability(requesting_plugin, "TOOLS")
    capabilities.require_capability(requesting_plugin, "TOOLS", "exposing a tool")


# The admin's panel


def test_org_admin_grants_and_revokes_on_the_plugin_page(client, org_admin, requesting_plugin):
    client.force_login(org_admin.user)
    page = client.get(reverse("admin:plugins_plugin_change", args=[quote(requesting_plugin.pk)]))
    html = page.content.decode()
    assert 'id="plugin-capabilities"' in html and "plugin-capability-grant-TOOLS" in html
    url = reverse("admin:plugins_plugin_capabilities", args=[quote(requesting_plugin.pk)])
    response = client.post(url, {"grant": "TOOLS"}, follow=True)
    assert "Granted TOOLS to plugin-crm." in [str(m) for m in response.context["messages"]]
    assert capabilities.granted_capabilities(requesting_plugin) == ["TOOLS"]
    assert "plugin-capability-revoke-TOOLS" in response.content.decode()
    response = client.post(url, {"revoke": "TOOLS"}, follow=True)
    assert "Revoked TOOLS from plugin-crm." in [str(m) for m in response.context["messages"]]
    response = client.post(url, {"revoke": "TOOLS"}, follow=True)
    assert "does not hold the TOOLS capability" in " ".join(str(m) for m in response.context["messages"])
    assert capabilities.granted_capabilities(requesting_plugin) == []
    assert events_of("plugin.capability_granted") == [("plugin-crm", "TOOLS", "admin")]
    grant = PluginCapabilityGrant.objects.get(plugin=requesting_plugin)
    assert grant.granted_by == org_admin.user and grant.revoked_by == org_admin.user


def test_another_orgs_admin_cannot_use_the_panel(client, org_admin, other_org):
    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-erp", name="ERP")
    client.force_login(org_admin.user)
    url = reverse("admin:plugins_plugin_capabilities", args=[quote(foreign.pk)])
    assert client.post(url, {"grant": "TOOLS"}).status_code == 404
    assert not PluginCapabilityGrant.objects.exists()


# The API key admin: the `ext:{pluginId}:routes` scope


def test_the_api_key_admin_accepts_plugins_a_key_may_call_only(client, org_admin, org):
    client.force_login(org_admin.user)
    form = {"organization": org.pk, "name": "ci", "plugin": "", "membership": "", "expires_at_0": "",
            "expires_at_1": "", "scopes": ["gateway"], "calls_only": "plugin-crm, plugin-billing"}
    response = client.post(reverse("admin:tenancy_apikey_add"), form)
    assert response.status_code == 200  # the page that shows the token once
    key = ApiKey.objects.get(name="ci")
    assert key.scopes == ["gateway", "ext:plugin-crm:routes", "ext:plugin-billing:routes"]
    change = client.get(reverse("admin:tenancy_apikey_change", args=[quote(key.pk)]))
    assert "plugin-crm, plugin-billing" in change.content.decode()
    bad = client.post(reverse("admin:tenancy_apikey_add"), {**form, "name": "bad", "calls_only": "crm"})
    assert "Not a plugin id: crm" in bad.content.decode()
    assert not ApiKey.objects.filter(name="bad").exists()


def test_changing_what_a_webhook_receives_needs_events_sub_and_a_revoked_one_stops_deliveries(api, org, plugin_key):
    from plexica.events.log import emit
    from webhooks.outbound import fanout
    from webhooks.outbound.models import WebhookMessage

    client = api(plugin_key.token)  # a legacy plugin: it holds EVENTS_SUB
    created = client.post("/api/v1/webhooks", {"url": "https://93.184.216.34/hooks", "events": ["contact.*"]},
                          format="json")
    assert created.status_code == 201, created.content
    endpoint_id = created.json()["item"]["id"]
    emit(None, "contact.created", subject=("contact", "c1"), organization=org)
    fanout.fan_out(org.pk)
    assert WebhookMessage.objects.filter(endpoint_id=endpoint_id).count() == 1

    capabilities.revoke_capability(Principal.system(org), "plugin-crm", "EVENTS_SUB")
    emit(None, "contact.created", subject=("contact", "c2"), organization=org)
    fanout.fan_out(org.pk)
    assert WebhookMessage.objects.filter(endpoint_id=endpoint_id).count() == 1  # nothing new for it
    response = client.patch(f"/api/v1/webhooks/{endpoint_id}", {"events": ["*"]}, format="json")
    assert_capability_refusal(response, "EVENTS_SUB", ["ROUTES", "EVENTS_PUB"])
    # Description-only changes are not subscriptions.
    assert client.patch(f"/api/v1/webhooks/{endpoint_id}", {"description": "x"}, format="json").status_code == 200


def test_createapikey_takes_the_routes_scope_and_refuses_a_malformed_one(org):
    import io

    from django.core.management import CommandError, call_command

    call_command("createapikey", "acme-corp", "--scope", "gateway", "ext:plugin-crm:routes", stdout=io.StringIO())
    assert ApiKey.objects.get().scopes == ["gateway", "ext:plugin-crm:routes"]
    with pytest.raises(CommandError, match="ext:crm:routes"):
        call_command("createapikey", "acme-corp", "--scope", "ext:crm:routes", stdout=io.StringIO(),
                     stderr=io.StringIO())
    assert ApiKey.objects.count() == 1


def test_a_catalog_plugin_with_an_unknown_capability_in_its_manifest_is_400(api, org_key):
    client = api(org_key.token)
    response = client.post("/api/v1/plugins", {"pluginId": "plugin-crm", "name": "CRM",
                                               "manifest": {"capabilities": ["ROUTES", "ROOT"]}}, format="json")
    assert response.status_code == 400, response.content
    assert "ROOT" in response.json()["error"]["message"]
    assert not Plugin.objects.exists()
    assert client.post("/api/v1/plugins", {"pluginId": "plugin-crm", "name": "CRM",
                                           "manifest": {"capabilities": ["ROUTES"]}}, format="json").status_code == 201
    response = client.patch("/api/v1/plugins/plugin-crm", {"manifest": {"capabilities": "ROUTES"}}, format="json")
    assert response.status_code == 400
    assert Plugin.objects.get().manifest == {"capabilities": ["ROUTES"]}
