"""Endpoints 1-5 of the plugin gateway API as a plugin author sees them: bodies, status codes, rules."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from plexica.api.permissions import FOREIGN_ORG_MESSAGE
from plexica.plugins.models import Plugin
from plexica.tenancy.services import issue_api_key
from registry.models import PluginService, ServiceEndpoint, ServiceStatus, ServiceStatusTransition
from registry.services import sweep_service_health

REGISTER = "/api/plugin-gateway/services/register"
SERVICES = "/api/plugin-gateway/services"
T0 = datetime(2026, 1, 22, 20, 0, 0, tzinfo=UTC)

# The seed's register example, verbatim.
SEED_BODY = {
    "pluginId": "plugin-crm",
    "serviceName": "crm.contacts",
    "version": "1.0.0",
    "baseUrl": "http://localhost:3100",
    "endpoints": [
        {
            "method": "GET",
            "path": "/contacts",
            "description": "List all contacts",
            "permissions": ["crm:contacts:read"],
            "metadata": {"paginated": True},
        },
        {
            "method": "POST",
            "path": "/contacts",
            "description": "Create a new contact",
            "permissions": ["crm:contacts:write"],
        },
        {
            "method": "GET",
            "path": "/contacts/:id",
            "description": "Get contact by ID",
            "permissions": ["crm:contacts:read"],
        },
    ],
    "metadata": {"description": "CRM Contacts API", "maintainer": "crm-team@example.com"},
}
ABSENT = object()  # register(..., endpoints=ABSENT) leaves the field out of the body


def discover_url(service_name):
    return f"{SERVICES}/discover/{service_name}"


def heartbeat_url(service_id):
    return f"{SERVICES}/{service_id}/heartbeat"


def service_url(plugin_id, service_name):
    return f"{SERVICES}/{plugin_id}/{service_name}"


@pytest.fixture
def acme(api, org_key):
    """An org-key client of acme-corp."""
    return api(org_key.token)


@pytest.fixture
def globex(api, other_org_key):
    """An org-key client of globex, in globex."""
    return api(other_org_key.token, tenant="globex")


@pytest.fixture
def register(acme, django_capture_on_commit_callbacks):
    """register(client=acme, **overrides) -> the response to the seed's body with `overrides` applied.

    Commit callbacks run as they would when the request's transaction commits (cache invalidation).
    """

    def post(client=None, **overrides):
        body = copy.deepcopy(SEED_BODY)
        body.update(overrides)
        body = {name: value for name, value in body.items() if value is not ABSENT}
        with django_capture_on_commit_callbacks(execute=True):
            return (client or acme).post(REGISTER, body, format="json")

    return post


@pytest.fixture
def deregister(acme, django_capture_on_commit_callbacks):
    def delete(plugin_id="plugin-crm", service_name="crm.contacts", client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or acme).delete(service_url(plugin_id, service_name))

    return delete


@pytest.fixture
def contacts(register):
    """The seed's crm.contacts service, registered by an org key; its serviceId."""
    response = register()
    assert response.status_code == 201
    return response.json()["serviceId"]


def stored_state():
    """Everything a registration can change, to prove a refused request changed nothing."""
    return (
        list(PluginService.objects.order_by("pk").values(
            "pk", "organization_id", "plugin__plugin_id", "service_name", "version", "base_url", "metadata",
            "status", "last_seen_at",
        )),
        list(ServiceEndpoint.objects.order_by("service_id", "position").values(
            "service_id", "method", "path", "description", "permissions", "metadata",
        )),
        sorted(Plugin.objects.values_list("organization__slug", "plugin_id")),
    )


def discovered(client, service_name="crm.contacts"):
    response = client.get(discover_url(service_name))
    assert response.status_code == 200, response.json()
    return response.json()["service"]


# --- 1. Register ---------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["metadata", "endpoints"])
def test_metadata_with_an_infinite_number_is_a_400_naming_it_and_stores_nothing(acme, contacts, where):
    # 1e999 would parse to inf: SQLite's JSON check made that a false 409, PostgreSQL a 500.
    before = stored_state()
    metadata = '{"big": 1e999}'
    endpoints = f'[{{"method": "GET", "path": "/contacts", "metadata": {metadata}}}]'
    extra = f'"metadata": {metadata}' if where == "metadata" else f'"endpoints": {endpoints}'
    body = f'{{"pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "2.0.0", {extra}}}'

    response = acme.post(REGISTER, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert "the number 1e999 is too large" in response.json()["message"]  # the body parser refuses it
    assert stored_state() == before


def test_register_answers_the_seed_body_with_a_new_service_id(register):
    response = register()
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "success": True, "serviceId": body["serviceId"], "message": "Service registered successfully"
    }
    assert body["serviceId"].startswith("svc_") and len(body["serviceId"]) > 20


def test_registered_service_is_discoverable_exactly_as_registered(register, acme, time_machine):
    time_machine.move_to(T0, tick=False)
    service_id = register().json()["serviceId"]
    response = acme.get(discover_url("crm.contacts"))
    assert response.status_code == 200
    assert response.json() == {
        "service": {
            "id": service_id,
            "pluginId": "plugin-crm",
            "serviceName": "crm.contacts",
            "version": "1.0.0",
            "status": "HEALTHY",
            "baseUrl": "http://localhost:3100",
            "endpoints": [
                {"method": "GET", "path": "/contacts", "description": "List all contacts",
                 "permissions": ["crm:contacts:read"], "metadata": {"paginated": True}},
                {"method": "POST", "path": "/contacts", "description": "Create a new contact",
                 "permissions": ["crm:contacts:write"], "metadata": {}},
                {"method": "GET", "path": "/contacts/:id", "description": "Get contact by ID",
                 "permissions": ["crm:contacts:read"], "metadata": {}},
            ],
            "metadata": {"description": "CRM Contacts API", "maintainer": "crm-team@example.com"},
            "lastSeenAt": "2026-01-22T20:00:00Z",
        }
    }


def test_the_seed_curl_example_with_only_the_required_fields_and_a_base_url_registers(register, acme):
    response = register(endpoints=ABSENT, metadata=ABSENT)
    assert response.status_code == 201
    service = discovered(acme)
    assert service["endpoints"] == [] and service["metadata"] == {}
    assert service["baseUrl"] == "http://localhost:3100"


def test_lowercase_endpoint_methods_are_accepted_and_stored_uppercase(register, acme):
    assert register(endpoints=[{"method": "get", "path": "/contacts"}]).status_code == 201
    assert discovered(acme)["endpoints"][0]["method"] == "GET"


def test_registering_a_new_plugin_adds_it_to_the_org_catalog_as_registered(register, org):
    assert not Plugin.objects.filter(organization=org, plugin_id="plugin-crm").exists()
    assert register().status_code == 201
    plugin = Plugin.objects.get(organization=org, plugin_id="plugin-crm")
    assert plugin.lifecycle_state == Plugin.LifecycleState.REGISTERED


def test_registering_for_a_plugin_already_in_the_catalog_keeps_that_plugin(register, org, crm_plugin):
    Plugin.objects.filter(pk=crm_plugin.pk).update(lifecycle_state=Plugin.LifecycleState.ACTIVE)
    assert register().status_code == 201
    plugin = Plugin.objects.get(organization=org, plugin_id="plugin-crm")
    assert plugin.pk == crm_plugin.pk and plugin.lifecycle_state == Plugin.LifecycleState.ACTIVE
    assert PluginService.objects.get(service_name="crm.contacts").plugin_id == crm_plugin.pk


# --- Register is an upsert ------------------------------------------------------------------------


def test_re_registering_keeps_the_service_id_and_updates_the_version(register, contacts, acme):
    response = register(version="1.1.0")
    assert response.status_code == 201
    assert response.json()["serviceId"] == contacts
    assert PluginService.objects.count() == 1
    assert discovered(acme)["version"] == "1.1.0"


def test_re_registering_with_endpoints_replaces_the_endpoint_list(register, contacts, acme):
    register(endpoints=[{"method": "DELETE", "path": "/contacts/:id"}])
    assert [(e["method"], e["path"]) for e in discovered(acme)["endpoints"]] == [("DELETE", "/contacts/:id")]


def test_re_registering_with_an_empty_endpoint_list_removes_all_endpoints(register, contacts, acme):
    assert register(endpoints=[]).status_code == 201
    assert discovered(acme)["endpoints"] == []


def test_re_registering_without_endpoints_keeps_the_endpoint_list(register, contacts, acme):
    assert register(version="1.0.1", endpoints=ABSENT).status_code == 201
    service = discovered(acme)
    assert service["version"] == "1.0.1"
    assert [(e["method"], e["path"]) for e in service["endpoints"]] == [
        ("GET", "/contacts"), ("POST", "/contacts"), ("GET", "/contacts/:id"),
    ]


def test_re_registering_without_metadata_keeps_it_and_with_metadata_replaces_it(register, contacts, acme):
    register(metadata=ABSENT)
    assert discovered(acme)["metadata"] == SEED_BODY["metadata"]
    register(metadata={"description": "v2"})
    assert discovered(acme)["metadata"] == {"description": "v2"}


def test_re_registering_without_a_base_url_keeps_it(register, contacts, acme):
    register(baseUrl=ABSENT)
    assert discovered(acme)["baseUrl"] == "http://localhost:3100"
    register(baseUrl="http://127.0.0.1:3200/v2/")
    assert discovered(acme)["baseUrl"] == "http://127.0.0.1:3200/v2"


@pytest.mark.parametrize("silence, status_before", [(120, "DEGRADED"), (400, "UNAVAILABLE")])
def test_re_registering_a_silent_service_makes_it_healthy_again(
    register, acme, time_machine, silence, status_before
):
    time_machine.move_to(T0, tick=False)
    service_id = register().json()["serviceId"]
    time_machine.move_to(T0 + timedelta(seconds=silence), tick=False)
    sweep_service_health()
    assert acme.get(SERVICES).json()["services"][0]["status"] == status_before
    assert register().json()["serviceId"] == service_id
    assert discovered(acme)["status"] == "HEALTHY"
    assert PluginService.objects.get(pk=service_id).status == ServiceStatus.HEALTHY
    recovery = ServiceStatusTransition.objects.filter(service_id=service_id).first()
    assert (recovery.from_status, recovery.to_status) == (status_before, "HEALTHY")
    assert recovery.cause == "register"


# --- Validation ----------------------------------------------------------------------------------

ENDPOINT = {"method": "GET", "path": "/contacts"}


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"pluginId": "crm"}, "pluginId"),
        ({"pluginId": "plugin-CRM"}, "pluginId"),
        ({"pluginId": "plugin-"}, "pluginId"),
        ({"pluginId": 42}, "pluginId"),
        ({"serviceName": "contacts"}, "serviceName"),
        ({"serviceName": "CRM.Contacts"}, "serviceName"),
        ({"serviceName": "crm..contacts"}, "serviceName"),
        ({"serviceName": "crm/contacts"}, "serviceName"),
        ({"serviceName": 1.5}, "serviceName"),
        ({"version": "1.0"}, "version"),
        ({"version": "latest"}, "version"),
        ({"version": 1}, "version"),
        ({"baseUrl": "localhost:3100"}, "baseUrl"),
        ({"baseUrl": "/contacts"}, "baseUrl"),
        ({"baseUrl": "ftp://127.0.0.1/files"}, "baseUrl"),
        ({"baseUrl": "http://user:secret@127.0.0.1:3100"}, "baseUrl"),
        ({"endpoints": [{"method": "TRACE", "path": "/contacts"}]}, "endpoints[0].method"),
        ({"endpoints": [ENDPOINT, {"method": "GET", "path": "contacts"}]}, "endpoints[1].path"),
        ({"endpoints": [{"method": "GET", "path": "/contacts/{id}"}]}, "endpoints[0].path"),
        ({"endpoints": [{"method": "GET", "path": "/contacts?limit=1"}]}, "endpoints[0].path"),
        ({"endpoints": [{"method": "GET", "path": "/contacts/:1d"}]}, "endpoints[0].path"),
        ({"endpoints": [{"method": "GET", "path": "/contacts\n/:id"}]}, "endpoints[0].path"),
        ({"endpoints": [{"method": "GET", "path": "/contacts "}]}, "endpoints[0].path"),
        ({"endpoints": [ENDPOINT, {"method": "get", "path": "/contacts"}]}, "endpoints"),
        ({"endpoints": ENDPOINT}, "endpoints"),
        ({"endpoints": ["GET /contacts"]}, "endpoints[0]"),
        ({"endpoints": [{**ENDPOINT, "metadata": ["paginated"]}]}, "endpoints[0].metadata"),
        ({"endpoints": [{**ENDPOINT, "permissions": "crm:contacts:read"}]}, "endpoints[0].permissions"),
        ({"endpoints": [{**ENDPOINT, "permissions": [7]}]}, "endpoints[0].permissions[0]"),
        ({"endpoints": [{**ENDPOINT, "permissions": ["read contacts"]}]}, "endpoints[0].permissions[0]"),
        ({"endpoints": [{**ENDPOINT, "description": 5}]}, "endpoints[0].description"),
        ({"metadata": ["CRM Contacts API"]}, "metadata"),
        ({"metadata": "CRM Contacts API"}, "metadata"),
        ({"metadata": None}, "metadata"),
    ],
)
def test_each_invalid_field_is_a_400_naming_that_field_and_changes_nothing(
    register, contacts, overrides, field
):
    before = stored_state()
    response = register(**{"version": "2.0.0", **overrides})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == "Invalid request"
    assert body["message"].startswith(f"{field}: "), body["message"]
    assert stored_state() == before


@pytest.mark.parametrize("field", ["pluginId", "serviceName", "version"])
def test_a_missing_required_field_is_named_in_the_seed_message(register, org, field):
    response = register(**{field: ABSENT})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request", "message": f"Missing required field: {field}"}
    assert PluginService.objects.count() == 0


def test_an_endpoint_without_a_path_names_the_missing_field(register, org):
    response = register(endpoints=[{"method": "GET"}])
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request", "message": "Missing required field: endpoints[0].path"
    }


def test_an_empty_body_asks_for_the_first_required_field(acme, org):
    response = acme.post(REGISTER, {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request", "message": "Missing required field: pluginId"}


def test_a_json_array_body_is_400(acme, org):
    response = acme.post(REGISTER, [SEED_BODY], format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert PluginService.objects.count() == 0


def test_malformed_json_is_400_and_changes_nothing(acme, contacts):
    before = stored_state()
    response = acme.post(REGISTER, '{"pluginId": "plugin-crm", "version": ', content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid request" and body["message"].startswith("Malformed JSON")
    assert stored_state() == before


def test_a_body_above_the_size_cap_is_413_and_one_below_it_registers(register, contacts, settings):
    settings.REGISTRY_MAX_BODY_BYTES = 2048
    before = stored_state()
    response = register(version="2.0.0", metadata={"notes": "x" * 2100})
    assert response.status_code == 413
    assert response.json() == {
        "error": "Payload too large", "message": "Request body is larger than 2048 bytes."
    }
    assert stored_state() == before
    assert register(version="2.0.0", metadata={"notes": "x" * 500}).status_code == 201


def test_too_many_endpoints_is_400(register, org):
    endpoints = [{"method": "GET", "path": f"/r{index}"} for index in range(201)]
    response = register(endpoints=endpoints)
    assert response.status_code == 400
    assert response.json()["message"].startswith("endpoints: ")


# --- One plugin per service name -----------------------------------------------------------------


def test_a_service_name_of_another_plugin_in_the_same_org_is_409(register, contacts):
    before = stored_state()
    response = register(pluginId="plugin-sales")
    assert response.status_code == 409
    assert response.json() == {
        "error": "Service name taken",
        "message": "Service crm.contacts is registered by another plugin of this organization.",
        "serviceName": "crm.contacts",
    }
    assert stored_state() == before  # not even plugin-sales was added to the catalog


def test_the_same_service_name_in_another_org_is_a_separate_service(register, contacts, globex, acme):
    response = register(client=globex)
    assert response.status_code == 201
    assert response.json()["serviceId"] != contacts
    assert discovered(globex)["id"] == response.json()["serviceId"]
    assert discovered(acme)["id"] == contacts
    assert PluginService.objects.count() == 2


# --- baseUrl network policy ----------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["http://[", "http://\uff03a/", "http://[::1"])
def test_base_urls_that_do_not_parse_are_400_naming_base_url(register, org, base_url):
    response = register(baseUrl=base_url)
    assert response.status_code == 400
    assert response.json()["message"].startswith("baseUrl: ")
    assert PluginService.objects.count() == 0


@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[fe80::1]:3100",  # link-local
        "http://224.0.0.1:3100",  # multicast
        "http://0.0.0.0:3100",
        "http://8.8.8.8",  # public, outside GATEWAY_ALLOWED_NETWORKS
        "https://[2001:4860:4860::8888]/",
    ],
)
def test_base_urls_outside_the_allowed_networks_are_400(register, org, base_url):
    response = register(baseUrl=base_url)
    assert response.status_code == 400
    assert response.json()["message"].startswith("baseUrl: ")
    assert "network" in response.json()["message"]
    assert PluginService.objects.count() == 0


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:3100", "http://localhost:3100", "http://[::1]:3100", "https://10.1.2.3/api",
        "http://192.168.0.7",
    ],
)
def test_loopback_and_private_base_urls_are_accepted(register, acme, base_url):
    assert register(baseUrl=base_url).status_code == 201
    assert discovered(acme)["baseUrl"] == base_url.rstrip("/")


def test_the_allowed_networks_setting_can_admit_a_public_network(register, settings):
    settings.GATEWAY_ALLOWED_NETWORKS = [*settings.GATEWAY_ALLOWED_NETWORKS, "8.8.8.0/24"]
    assert register(baseUrl="http://8.8.8.8").status_code == 201
    assert register(serviceName="crm.deals", baseUrl="http://8.8.4.4").status_code == 400


def test_metadata_and_multicast_addresses_stay_refused_even_when_every_network_is_allowed(register, settings):
    settings.GATEWAY_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    assert register(baseUrl="http://8.8.8.8").status_code == 201
    assert register(baseUrl="http://169.254.169.254").status_code == 400
    assert register(baseUrl="http://239.1.2.3").status_code == 400


# --- Who may act for which plugin ----------------------------------------------------------------


def test_a_plugin_key_registers_its_own_plugins_services(register, api, plugin_key):
    response = register(client=api(plugin_key.token))
    assert response.status_code == 201
    assert PluginService.objects.get(pk=response.json()["serviceId"]).plugin.plugin_id == "plugin-crm"


def test_a_plugin_key_cannot_register_for_another_plugin(register, api, plugin_key):
    before = stored_state()
    response = register(client=api(plugin_key.token), pluginId="plugin-sales", serviceName="sales.deals")
    assert response.status_code == 403
    assert response.json() == {
        "error": "Forbidden",
        "message": "This API key acts as plugin-crm; it cannot act for plugin-sales.",
    }
    assert stored_state() == before


def test_a_plugin_key_cannot_deregister_another_plugins_service(register, deregister, api, plugin_key):
    register(pluginId="plugin-sales", serviceName="sales.deals")
    response = deregister("plugin-sales", "sales.deals", client=api(plugin_key.token))
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden" and "plugin-sales" in response.json()["message"]
    assert PluginService.objects.filter(service_name="sales.deals").exists()


def test_a_plugin_key_cannot_heartbeat_another_plugins_service(register, api, plugin_key, time_machine):
    time_machine.move_to(T0, tick=False)
    service_id = register(pluginId="plugin-sales", serviceName="sales.deals").json()["serviceId"]
    time_machine.move_to(T0 + timedelta(seconds=30), tick=False)
    response = api(plugin_key.token).post(heartbeat_url(service_id))
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden" and "plugin-sales" in response.json()["message"]
    assert PluginService.objects.get(pk=service_id).last_seen_at == T0


def test_a_plugin_key_deregisters_and_heartbeats_its_own_service(register, deregister, api, plugin_key):
    client = api(plugin_key.token)
    service_id = register(client=client).json()["serviceId"]
    assert client.post(heartbeat_url(service_id)).status_code == 200
    assert deregister(client=client).status_code == 200


def test_an_org_key_acts_for_any_plugin_of_its_org(register, deregister, acme, crm_plugin):
    service_id = register(pluginId="plugin-sales", serviceName="sales.deals").json()["serviceId"]
    assert acme.post(heartbeat_url(service_id)).status_code == 200
    assert deregister("plugin-sales", "sales.deals").status_code == 200


def test_a_plain_member_key_cannot_register_deregister_or_heartbeat(
    register, deregister, api, member_key, contacts
):
    client = api(member_key.token)
    before = stored_state()
    responses = [
        register(client=client, version="2.0.0"),
        deregister(client=client),
        client.post(heartbeat_url(contacts)),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert all(r.json()["error"] == "Forbidden" and r.json()["message"] for r in responses)
    assert stored_state() == before


def test_a_plain_member_key_can_discover_and_list(api, member_key, contacts):
    client = api(member_key.token)
    assert discovered(client)["id"] == contacts
    assert client.get(SERVICES).json()["count"] == 1


def test_a_key_without_the_gateway_scope_cannot_register(register, api, org):
    _, token = issue_api_key(org, name="api only", scopes=["api:read", "api:write"])
    assert register(client=api(token)).status_code == 403
    assert PluginService.objects.count() == 0


def test_without_the_tenant_header_every_endpoint_answers_the_seed_401(api, org_key, contacts):
    client = api(org_key.token, tenant=None)
    responses = [
        client.post(REGISTER, SEED_BODY, format="json"),
        client.delete(service_url("plugin-crm", "crm.contacts")),
        client.get(discover_url("crm.contacts")),
        client.get(SERVICES),
        client.post(heartbeat_url(contacts)),
    ]
    assert [r.status_code for r in responses] == [401] * 5
    assert all(r.json() == {"error": "X-Tenant-Slug header required"} for r in responses)


# --- 2. Deregister -------------------------------------------------------------------------------


def test_deregister_answers_the_seed_body_and_removes_the_service(deregister, acme, contacts):
    response = deregister()
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Service deregistered successfully"}
    assert not PluginService.objects.filter(pk=contacts).exists()
    assert not ServiceEndpoint.objects.filter(service_id=contacts).exists()
    assert acme.get(discover_url("crm.contacts")).status_code == 404


def test_deregistering_keeps_the_plugin_in_the_catalog(deregister, org, contacts):
    deregister()
    assert Plugin.objects.filter(organization=org, plugin_id="plugin-crm").exists()


def test_deregistering_twice_is_404_the_second_time(deregister, contacts):
    assert deregister().status_code == 200
    response = deregister()
    assert response.status_code == 404
    assert response.json() == {"error": "Service not found", "serviceName": "crm.contacts"}


def test_deregistering_under_the_wrong_plugin_is_404_and_keeps_the_service(register, deregister, contacts):
    register(pluginId="plugin-sales", serviceName="sales.deals")
    response = deregister("plugin-sales", "crm.contacts")
    assert response.status_code == 404
    assert response.json() == {"error": "Service not found", "serviceName": "crm.contacts"}
    assert PluginService.objects.filter(pk=contacts).exists()


def test_a_deregistered_name_can_be_registered_again_by_another_plugin(register, deregister, contacts):
    deregister()
    response = register(pluginId="plugin-sales")
    assert response.status_code == 201
    assert response.json()["serviceId"] != contacts


# --- 3. Discover ---------------------------------------------------------------------------------


def test_discovering_an_unknown_service_is_the_seed_404(acme, org):
    response = acme.get(discover_url("crm.unknown"))
    assert response.status_code == 404
    assert response.json() == {"error": "Service not found", "serviceName": "crm.unknown"}


def test_a_degraded_service_is_discoverable_with_its_status(register, acme, time_machine):
    time_machine.move_to(T0, tick=False)
    register()
    time_machine.move_to(T0 + timedelta(seconds=120), tick=False)
    assert discovered(acme)["status"] == "DEGRADED"


def test_an_unavailable_service_is_not_found(register, acme, time_machine):
    time_machine.move_to(T0, tick=False)
    register()
    time_machine.move_to(T0 + timedelta(seconds=301), tick=False)
    response = acme.get(discover_url("crm.contacts"))
    assert response.status_code == 404
    assert response.json() == {"error": "Service not found", "serviceName": "crm.contacts"}


# --- 4. List -------------------------------------------------------------------------------------


def test_list_answers_the_seed_shape_ordered_by_service_name(register, acme, time_machine):
    time_machine.move_to(T0, tick=False)
    contacts_id = register().json()["serviceId"]
    deals_id = register(serviceName="crm.deals", version="1.2.0").json()["serviceId"]
    response = acme.get(SERVICES)
    assert response.status_code == 200
    assert response.json() == {
        "services": [
            {"id": contacts_id, "pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
             "status": "HEALTHY", "lastSeenAt": "2026-01-22T20:00:00Z"},
            {"id": deals_id, "pluginId": "plugin-crm", "serviceName": "crm.deals", "version": "1.2.0",
             "status": "HEALTHY", "lastSeenAt": "2026-01-22T20:00:00Z"},
        ],
        "count": 2,
    }


def test_list_of_an_org_without_services_is_empty(acme, org):
    assert acme.get(SERVICES).json() == {"services": [], "count": 0}


def test_list_filters_by_plugin_id(register, acme, org):
    register()
    register(pluginId="plugin-sales", serviceName="sales.deals")
    body = acme.get(SERVICES, {"pluginId": "plugin-sales"}).json()
    assert [s["serviceName"] for s in body["services"]] == ["sales.deals"] and body["count"] == 1
    assert acme.get(SERVICES, {"pluginId": "plugin-none"}).json() == {"services": [], "count": 0}


def test_list_filters_by_status_derived_at_read_time(register, acme, time_machine):
    time_machine.move_to(T0, tick=False)
    register(serviceName="crm.archive")
    time_machine.move_to(T0 + timedelta(seconds=250), tick=False)
    register(serviceName="crm.deals")
    time_machine.move_to(T0 + timedelta(seconds=400), tick=False)
    register(serviceName="crm.contacts")

    def names(status):
        body = acme.get(SERVICES, {"status": status}).json()
        assert body["count"] == len(body["services"])
        return [s["serviceName"] for s in body["services"]]

    # No sweep ran: the persisted status of all three is still HEALTHY.
    assert names("HEALTHY") == ["crm.contacts"]
    assert names("DEGRADED") == ["crm.deals"]
    assert names("UNAVAILABLE") == ["crm.archive"]
    statuses = [s["status"] for s in acme.get(SERVICES).json()["services"]]
    assert statuses == ["UNAVAILABLE", "HEALTHY", "DEGRADED"]


def test_list_combines_the_plugin_and_status_filters(register, acme, time_machine):
    time_machine.move_to(T0, tick=False)
    register()
    register(pluginId="plugin-sales", serviceName="sales.deals")
    time_machine.move_to(T0 + timedelta(seconds=120), tick=False)
    register(pluginId="plugin-sales", serviceName="sales.quotes")
    body = acme.get(SERVICES, {"pluginId": "plugin-sales", "status": "DEGRADED"}).json()
    assert [s["serviceName"] for s in body["services"]] == ["sales.deals"]


@pytest.mark.parametrize("status", ["healthy", "DOWN", "ALL"])
def test_list_rejects_an_unknown_status_with_400(acme, org, status):
    response = acme.get(SERVICES, {"status": status})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request",
        "message": "status: Must be one of: HEALTHY, DEGRADED, UNAVAILABLE.",
    }


# --- 5. Heartbeat --------------------------------------------------------------------------------


def test_heartbeat_answers_the_seed_body_and_refreshes_last_seen(acme, register, time_machine):
    time_machine.move_to(T0, tick=False)
    service_id = register().json()["serviceId"]
    time_machine.move_to(T0 + timedelta(seconds=60), tick=False)
    response = acme.post(heartbeat_url(service_id))
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Heartbeat received"}
    assert PluginService.objects.get(pk=service_id).last_seen_at == T0 + timedelta(seconds=60)
    assert discovered(acme)["lastSeenAt"] == "2026-01-22T20:01:00Z"


def test_heartbeat_of_an_unknown_service_id_is_404(acme, org):
    response = acme.post(heartbeat_url("svc_doesnotexist"))
    assert response.status_code == 404
    assert response.json() == {"error": "Service not found", "serviceId": "svc_doesnotexist"}


def test_heartbeat_needs_no_body(acme, contacts):
    assert acme.post(heartbeat_url(contacts), content_type="application/json").status_code == 200


@pytest.mark.parametrize("silence, status_before", [(120, "DEGRADED"), (400, "UNAVAILABLE")])
def test_heartbeat_brings_a_silent_service_back_to_healthy_and_records_why(
    acme, register, time_machine, silence, status_before
):
    time_machine.move_to(T0, tick=False)
    service_id = register().json()["serviceId"]
    at = T0 + timedelta(seconds=silence)
    time_machine.move_to(at, tick=False)
    sweep_service_health()
    assert acme.get(SERVICES).json()["services"][0]["status"] == status_before

    assert acme.post(heartbeat_url(service_id)).status_code == 200
    assert discovered(acme)["status"] == "HEALTHY"
    assert PluginService.objects.get(pk=service_id).status == ServiceStatus.HEALTHY
    latest = ServiceStatusTransition.objects.filter(service_id=service_id).first()
    assert (latest.from_status, latest.to_status, latest.at, latest.cause) == (
        status_before, "HEALTHY", at, "heartbeat"
    )


def test_a_heartbeat_of_a_healthy_service_records_no_transition(acme, contacts):
    acme.post(heartbeat_url(contacts))
    acme.post(heartbeat_url(contacts))
    assert not ServiceStatusTransition.objects.exists()


# --- The discover cache --------------------------------------------------------------------------


def test_a_re_registration_is_visible_at_once_through_a_warm_cache(register, acme, contacts):
    assert discovered(acme)["version"] == "1.0.0"  # now cached
    register(version="1.1.0", endpoints=[])
    service = discovered(acme)
    assert service["version"] == "1.1.0" and service["endpoints"] == []


def test_a_deregistered_service_is_not_found_at_once_through_a_warm_cache(deregister, acme, contacts):
    discovered(acme)
    deregister()
    assert acme.get(discover_url("crm.contacts")).status_code == 404


def test_a_heartbeat_is_visible_at_once_through_a_warm_cache(acme, register, time_machine):
    time_machine.move_to(T0, tick=False)
    service_id = register().json()["serviceId"]
    assert discovered(acme)["lastSeenAt"] == "2026-01-22T20:00:00Z"
    time_machine.move_to(T0 + timedelta(seconds=45), tick=False)
    acme.post(heartbeat_url(service_id))
    assert discovered(acme)["lastSeenAt"] == "2026-01-22T20:00:45Z"


def test_a_warm_cache_never_reports_healthy_once_the_service_has_gone_quiet(acme, register, time_machine):
    time_machine.move_to(T0, tick=False)
    register()
    assert discovered(acme)["status"] == "HEALTHY"  # cached, with nothing invalidating it afterwards
    time_machine.move_to(T0 + timedelta(seconds=91), tick=False)
    assert discovered(acme)["status"] == "DEGRADED"
    time_machine.move_to(T0 + timedelta(seconds=301), tick=False)
    assert acme.get(discover_url("crm.contacts")).status_code == 404


# --- Cross-org isolation -------------------------------------------------------------------------


def test_another_orgs_key_is_403_on_every_endpoint_for_acme_corp(api, other_org_key, contacts):
    foreign = api(other_org_key.token, tenant="acme-corp")
    before = stored_state()
    responses = [
        foreign.post(REGISTER, {**SEED_BODY, "version": "6.6.6"}, format="json"),
        foreign.delete(service_url("plugin-crm", "crm.contacts")),
        foreign.get(discover_url("crm.contacts")),
        foreign.get(SERVICES),
        foreign.post(heartbeat_url(contacts)),
    ]
    assert [r.status_code for r in responses] == [403] * 5
    assert all(r.json() == {"error": "Forbidden", "message": FOREIGN_ORG_MESSAGE} for r in responses)
    assert stored_state() == before


def test_another_org_cannot_reach_acme_corps_service_through_its_own_slug(
    globex, deregister, contacts, time_machine
):
    stored = PluginService.objects.get(pk=contacts)
    time_machine.move_to(stored.last_seen_at + timedelta(seconds=10), tick=False)
    discover = globex.get(discover_url("crm.contacts"))
    assert discover.status_code == 404
    assert discover.json() == {"error": "Service not found", "serviceName": "crm.contacts"}
    heartbeat = globex.post(heartbeat_url(contacts))
    assert heartbeat.status_code == 404
    assert heartbeat.json() == {"error": "Service not found", "serviceId": contacts}
    removal = deregister(client=globex)
    assert removal.status_code == 404
    assert removal.json() == {"error": "Service not found", "serviceName": "crm.contacts"}
    assert globex.get(SERVICES).json() == {"services": [], "count": 0}
    assert globex.get(SERVICES, {"pluginId": "plugin-crm"}).json() == {"services": [], "count": 0}
    assert PluginService.objects.get(pk=contacts).last_seen_at == stored.last_seen_at


def test_a_plugin_key_is_403_for_another_orgs_slug(api, plugin_key, other_org, contacts):
    response = api(plugin_key.token, tenant="globex").post(heartbeat_url(contacts))
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "message": FOREIGN_ORG_MESSAGE}


def test_two_orgs_registering_the_same_names_never_see_each_others_changes(
    register, deregister, acme, globex
):
    acme_id = register().json()["serviceId"]
    globex_id = register(client=globex, version="9.0.0", endpoints=[]).json()["serviceId"]
    assert discovered(acme)["version"] == "1.0.0" and len(discovered(acme)["endpoints"]) == 3
    deregister(client=globex)
    assert discovered(acme)["id"] == acme_id
    assert not PluginService.objects.filter(pk=globex_id).exists()


# --- Query counts --------------------------------------------------------------------------------


@pytest.fixture
def warm_key(acme):
    """The key's last-used write (once a minute) is done, so counts show the steady state."""
    assert acme.get(SERVICES).status_code == 200
    return acme


def test_discover_costs_at_most_three_queries_cold_and_one_warm(
    warm_key, contacts, django_assert_max_num_queries
):
    cache.clear()
    with django_assert_max_num_queries(3):
        assert warm_key.get(discover_url("crm.contacts")).status_code == 200
    with django_assert_max_num_queries(1):  # only the API key lookup
        assert warm_key.get(discover_url("crm.contacts")).status_code == 200


def test_heartbeat_costs_at_most_four_queries(warm_key, contacts, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert warm_key.post(heartbeat_url(contacts)).status_code == 200


def test_a_recovering_heartbeat_stays_within_a_small_query_budget(
    warm_key, contacts, django_assert_max_num_queries
):
    PluginService.objects.filter(pk=contacts).update(status=ServiceStatus.DEGRADED)
    # key, read, update, transition insert, the event (sequence and row), and the savepoint pair in tests.
    with django_assert_max_num_queries(8):
        assert warm_key.post(heartbeat_url(contacts)).status_code == 200
    assert ServiceStatusTransition.objects.filter(service_id=contacts, cause="heartbeat").count() == 1


def test_list_costs_at_most_two_queries_however_many_services(
    register, warm_key, org, django_assert_max_num_queries
):
    for index in range(20):
        plugin_id = "plugin-crm" if index % 2 else "plugin-sales"
        assert register(pluginId=plugin_id, serviceName=f"svc{index}.api").status_code == 201
    with django_assert_max_num_queries(2):
        body = warm_key.get(SERVICES).json()
    assert body["count"] == 20
    with django_assert_max_num_queries(2):
        assert warm_key.get(SERVICES, {"pluginId": "plugin-crm", "status": "HEALTHY"}).json()["count"] == 10
