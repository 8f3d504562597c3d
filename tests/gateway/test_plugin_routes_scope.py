"""The extensions seed's `ext:{pluginId}:routes` key scope: a key carrying such scopes calls only those plugins."""

from plexica.tenancy.models import ApiKey
from plexica.tenancy.services import issue_api_key
from tests.gateway.conftest import CONTACT_ENDPOINTS


def scoped_key(org, analytics_plugin, *scopes):
    return issue_api_key(org, name="scoped", plugin=analytics_plugin, scopes=scopes)[1]


def test_a_key_scoped_to_the_target_plugin_calls_it(call, contacts, grant, upstream, org, analytics_plugin):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    token = scoped_key(org, analytics_plugin, "ext:plugin-crm:routes")  # no `gateway` scope needed for /call
    response = call("/contacts", token=token)
    assert response.status_code == 200
    assert response.json()["status"] == 200


def test_a_key_scoped_to_another_plugin_is_refused_naming_the_scope(call, contacts, grant, upstream, org,
                                                                   analytics_plugin):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    token = scoped_key(org, analytics_plugin, ApiKey.Scope.GATEWAY, "ext:plugin-billing:routes")
    response = call("/contacts", token=token)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "Forbidden"
    assert body["required_scopes"] == ["ext:plugin-crm:routes"]
    assert "ext:plugin-crm:routes" in body["message"]
    assert upstream.requests == []  # refused before the upstream is reached


def test_a_routes_scope_does_not_open_the_rest_of_the_gateway(api, org, analytics_plugin, register, upstream):
    register(upstream.base_url("/v2"), CONTACT_ENDPOINTS)
    token = scoped_key(org, analytics_plugin, "ext:plugin-crm:routes")
    response = api(token).get("/api/plugin-gateway/services")
    assert response.status_code == 403


def test_a_key_with_only_the_gateway_scope_calls_any_plugin(call, contacts, grant, upstream, org, analytics_plugin):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    assert call("/contacts", token=scoped_key(org, analytics_plugin, ApiKey.Scope.GATEWAY)).status_code == 200


def test_key_creation_accepts_the_routes_scope_and_refuses_a_malformed_one(api, org_key):
    client = api(org_key.token)
    created = client.post("/api/v1/api-keys", {"name": "k", "scopes": ["gateway", "ext:plugin-crm:routes"]},
                          format="json")
    assert created.status_code == 201, created.content
    assert created.json()["item"]["scopes"] == ["gateway", "ext:plugin-crm:routes"]
    for bad in ("ext:crm:routes", "ext:plugin-crm:tools", "ext:plugin-CRM:routes", "ext:plugin-crm:routes ", 7):
        response = client.post("/api/v1/api-keys", {"name": "bad", "scopes": [bad]}, format="json")
        assert response.status_code == 400, bad
    assert ApiKey.objects.filter(name="bad").count() == 0
