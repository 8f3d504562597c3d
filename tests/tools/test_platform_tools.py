"""The platform's own tools (plexica.tools): who sees which, and that each does what its HTTP operation does.

Every tool is checked against the HTTP API it stands for: the same callers may use it (a caller the HTTP API
refuses does not even see the tool), it answers the same body, changes the same stored state and events, and
refuses with the same status and code. Principals are built as the API builds them (resolve_principal).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jsonschema import Draft202012Validator

from dependencies import services as dependency_services
from dependencies.resolver import Dependency
from marketplaces.catalog.services.marketplaces import add_plugin_to_marketplace, create_marketplace
from plexica.access import services as access
from plexica.api.permissions import resolve_principal
from plexica.events.models import Event
from plexica.plugins.capabilities import revoke_capability
from plexica.plugins.models import Capability, Plugin
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from plexica.tools import InvalidArguments, UnknownTool, call_tool, list_tools
from registry import services as registry_services
from registry.services import Registration
from shareddata.models import SharedEntry
from tests.conftest import IssuedKey

DISCOVER = "plexica.discover_services"
GET, LIST, SET, DELETE = ("plexica.shared_data_get", "plexica.shared_data_list", "plexica.shared_data_set",
                          "plexica.shared_data_delete")
INSTALLABLE = "plexica.list_installable_plugins"
RESOLVE = "plexica.resolve_dependencies"
EMIT = "plexica.emit_event"
PLATFORM = {DISCOVER, GET, LIST, SET, DELETE, INSTALLABLE, RESOLVE, EMIT}
READERS = {DISCOVER, GET, LIST, INSTALLABLE, RESOLVE}  # what a plain member may use

GATEWAY = "/api/plugin-gateway"
SHARED = f"{GATEWAY}/shared-data"


def as_key(issued):
    """The principal the API builds for this key (its org's X-Tenant-Slug)."""
    return resolve_principal(issued.key, None, issued.key.organization.slug)


def as_session(membership):
    """The principal of a logged-in session of this member."""
    return resolve_principal(None, membership.user, membership.organization.slug)


def platform_names(principal):
    return {tool.name for tool in list_tools(principal)} & PLATFORM


def ok(principal, name, arguments=None):
    result = call_tool(principal, name, arguments or {})
    assert not result.is_error, result.error
    return result.data


def refused(principal, name, arguments):
    result = call_tool(principal, name, arguments)
    assert result.is_error, result.data
    return result.error


def outcome(error):
    """(status, code, details) of a tool's error: what the HTTP API answers with."""
    return error["status"], error["code"], error.get("details")


def invalid_pointers(principal, name, arguments):
    with pytest.raises(InvalidArguments) as caught:
        call_tool(principal, name, arguments)
    return [problem["pointer"] for problem in caught.value.problems]


@pytest.fixture
def billing(org):
    return Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing",
                                 version="1.2.0")


@pytest.fixture
def billing_key(org, billing):
    return IssuedKey(*issue_api_key(org, name="billing", plugin=billing))


@pytest.fixture
def admin_session(org_admin):
    return as_session(org_admin)


def register(org, plugin_id="plugin-crm", service_name="crm.contacts", **extra):
    service, _ = registry_services.register_service(Principal.system(org), Registration(
        plugin_id=plugin_id, service_name=service_name, version="1.0.0", base_url="http://127.0.0.1:3100",
        endpoints=[{"method": "GET", "path": "/contacts", "description": "List contacts",
                    "permissions": ["crm:contacts:read"], "metadata": {}}],
        metadata={"team": "crm"}, **extra))
    return service


# --- Who sees which tools ---------------------------------------------------------------------------


def test_an_org_key_sees_every_platform_tool(org_key):
    assert platform_names(as_key(org_key)) == PLATFORM


def test_a_plugin_key_sees_every_platform_tool_while_its_plugin_may_emit(plugin_key):
    assert platform_names(as_key(plugin_key)) == PLATFORM


def test_a_plugin_key_without_the_events_pub_capability_does_not_see_emit_event(api, org, plugin_key,
                                                                                crm_plugin):
    revoke_capability(Principal.system(org), crm_plugin.plugin_id, Capability.EVENTS_PUB)
    assert platform_names(as_key(plugin_key)) == PLATFORM - {EMIT}
    response = api(plugin_key.token).post("/api/v1/events", {"type": "plugin-crm.contact.created"},
                                          format="json")
    assert response.status_code == 403  # what HTTP answers that caller
    with pytest.raises(UnknownTool):
        call_tool(as_key(plugin_key), EMIT, {"type": "plugin-crm.contact.created"})


@pytest.mark.parametrize("caller", ["member key", "member session"])
def test_a_plain_member_only_reads(api, member, member_key, caller):
    principal = as_key(member_key) if caller == "member key" else as_session(member)
    assert platform_names(principal) == READERS
    client = api(member_key.token)  # HTTP refuses a member every tool left out
    body = {"namespace": "crm.cache", "key": "count", "value": 1, "ownerId": "plugin-crm"}
    assert client.post(SHARED, body, format="json").status_code == 403
    assert client.delete(f"{SHARED}/crm.cache/count").status_code == 403
    assert client.post("/api/v1/events", {"type": "contact.created"}, format="json").status_code == 403
    with pytest.raises(UnknownTool):
        call_tool(principal, SET, body)


def test_an_admin_session_a_superuser_and_the_system_see_every_platform_tool(org, admin_session, superuser):
    assert platform_names(admin_session) == PLATFORM
    assert platform_names(resolve_principal(None, superuser, org.slug)) == PLATFORM
    assert platform_names(Principal.system(org)) == PLATFORM


@pytest.mark.parametrize(("scopes", "expected"), [
    (["gateway"], {DISCOVER, GET, LIST, SET, DELETE, RESOLVE}),
    (["api:read"], {INSTALLABLE}),
    (["api:write"], {INSTALLABLE}),
    (["events:emit"], {EMIT}),
    (["events:subscribe"], set()),
    (["ext:plugin-crm:routes"], set()),
    (["api:read", "events:emit"], {INSTALLABLE, EMIT}),
])
def test_a_scoped_key_sees_only_the_tools_its_scopes_allow(api, org, scopes, expected):
    issued = IssuedKey(*issue_api_key(org, name="narrow", scopes=scopes))
    assert platform_names(as_key(issued)) == expected
    client = api(issued.token)  # the HTTP API agrees, tool by tool
    assert (client.get(f"{GATEWAY}/services").status_code == 200) == (DISCOVER in expected)
    assert (client.get("/api/v1/delivery/plugins").status_code == 200) == (INSTALLABLE in expected)


def test_every_platform_tool_is_described_with_a_strict_schema(org_key):
    tools = {tool.name: tool for tool in list_tools(as_key(org_key)) if tool.name in PLATFORM}
    for tool in tools.values():
        assert tool.source == "platform" and tool.title and tool.description and tool.scopes
        assert tool.input_schema["type"] == "object" and tool.input_schema["additionalProperties"] is False
        Draft202012Validator.check_schema(tool.input_schema)
    assert {name for name, tool in tools.items() if tool.read_only} == READERS


# --- plexica.discover_services --------------------------------------------------------------------------


def test_discover_services_answers_what_the_gateway_list_answers(api, org, plugin_key, billing):
    register(org)
    register(org, "plugin-billing", "billing.invoices")
    principal = as_key(plugin_key)
    client = api(plugin_key.token)
    assert ok(principal, DISCOVER) == client.get(f"{GATEWAY}/services").json()
    assert ok(principal, DISCOVER)["count"] == 2
    narrowed = ok(principal, DISCOVER, {"pluginId": "plugin-billing", "status": "HEALTHY"})
    assert narrowed == client.get(f"{GATEWAY}/services?pluginId=plugin-billing&status=HEALTHY").json()
    assert [service["serviceName"] for service in narrowed["services"]] == ["billing.invoices"]


def test_discover_services_with_a_service_name_answers_what_discovery_answers(api, org, member_key):
    register(org)
    found = ok(as_key(member_key), DISCOVER, {"serviceName": "crm.contacts"})
    assert found == api(member_key.token).get(f"{GATEWAY}/services/discover/crm.contacts").json()
    assert found["service"]["baseUrl"] == "http://127.0.0.1:3100"
    assert found["service"]["endpoints"][0]["path"] == "/contacts"


def test_discovering_an_unknown_or_unavailable_service_is_the_gateways_404(org, org_key):
    service = register(org)
    error = refused(as_key(org_key), DISCOVER, {"serviceName": "crm.nothing"})
    assert outcome(error) == (404, "not_found", {"serviceName": "crm.nothing"})
    type(service).objects.filter(pk=service.pk).update(last_seen_at=timezone.now() - timedelta(days=1))
    assert refused(as_key(org_key), DISCOVER, {"serviceName": "crm.contacts"})["status"] == 404
    assert ok(as_key(org_key), DISCOVER, {"status": "UNAVAILABLE"})["count"] == 1  # the list still shows it


def test_discover_with_a_service_name_and_another_plugin_finds_nothing(org, org_key):
    register(org)
    assert ok(as_key(org_key), DISCOVER, {"serviceName": "crm.contacts", "pluginId": "plugin-crm"})["service"]
    error = refused(as_key(org_key), DISCOVER, {"serviceName": "crm.contacts", "pluginId": "plugin-billing"})
    assert error["status"] == 404


def test_discover_services_never_shows_another_organizations_services(org, other_org, org_key):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="CRM")
    register(other_org, service_name="globex.secrets")
    assert ok(as_key(org_key), DISCOVER) == {"services": [], "count": 0}
    assert refused(as_key(org_key), DISCOVER, {"serviceName": "globex.secrets"})["status"] == 404


@pytest.mark.parametrize(("arguments", "pointer"), [
    ({"status": "healthy"}, "/status"),
    ({"pluginId": "crm"}, "/pluginId"),
    ({"serviceName": "contacts"}, "/serviceName"),
    ({"serviceName": "crm.contacts\n"}, "/serviceName"),
    ({"service": "crm.contacts"}, ""),
])
def test_discover_services_refuses_bad_arguments_naming_them(org_key, arguments, pointer):
    assert invalid_pointers(as_key(org_key), DISCOVER, arguments) == [pointer]


# --- plexica.shared_data_* -----------------------------------------------------------------------------


def test_a_plugin_key_writes_as_its_own_plugin_and_reads_back_what_http_shows(api, plugin_key):
    principal = as_key(plugin_key)
    stored = ok(principal, SET, {"namespace": "crm.cache", "key": "count", "value": {"n": 1250}, "ttl": 3600})
    entry = SharedEntry.objects.get(namespace="crm.cache", key="count")
    assert stored == {"success": True, "message": "Data stored successfully", "etag": entry.etag}
    assert entry.owner.plugin_id == "plugin-crm" and entry.value == {"n": 1250}
    assert timedelta(seconds=3590) < entry.expires_at - timezone.now() <= timedelta(seconds=3600)
    response = api(plugin_key.token).get(f"{SHARED}/crm.cache/count")
    got = ok(principal, GET, {"namespace": "crm.cache", "key": "count"})
    assert got == {**response.json(), "etag": entry.etag}
    assert response["ETag"] == f'"{entry.etag}"'


def test_a_plugin_key_may_not_write_as_another_plugin_nor_overwrite_its_entries(plugin_key, billing_key):
    error = refused(as_key(plugin_key), SET,
                    {"namespace": "n", "key": "k", "value": 1, "ownerId": "plugin-billing"})
    assert (error["status"], error["code"]) == (403, "org_capability_required")
    ok(as_key(billing_key), SET, {"namespace": "n", "key": "k", "value": "billing's"})
    error = refused(as_key(plugin_key), SET, {"namespace": "n", "key": "k", "value": "crm's"})
    assert outcome(error) == (403, "forbidden", {"ownerId": "plugin-billing"})
    assert refused(as_key(plugin_key), DELETE, {"namespace": "n", "key": "k"})["status"] == 403
    assert SharedEntry.objects.get(key="k").value == "billing's"


def test_an_org_admin_names_the_owner_and_may_overwrite_any_entry(org, admin_session, plugin_key, billing):
    ok(as_key(plugin_key), SET, {"namespace": "n", "key": "k", "value": 1})
    assert invalid_pointers(admin_session, SET, {"namespace": "n", "key": "k", "value": 2}) == [""]  # ownerId
    ok(admin_session, SET, {"namespace": "n", "key": "k", "value": 2, "ownerId": "plugin-billing"})
    entry = SharedEntry.objects.get(key="k")
    assert (entry.value, entry.owner.plugin_id) == (2, "plugin-billing")
    error = refused(admin_session, SET,
                    {"namespace": "n", "key": "k", "value": 3, "ownerId": "plugin-nobody"})
    assert (error["status"], error["code"]) == (400, "invalid_request")


def test_if_match_guards_writes_and_deletes_as_over_http(api, plugin_key):
    principal = as_key(plugin_key)
    first = ok(principal, SET, {"namespace": "n", "key": "k", "value": 1})["etag"]
    second = ok(principal, SET, {"namespace": "n", "key": "k", "value": 2, "ifMatch": f'"{first}"'})["etag"]
    error = refused(principal, SET, {"namespace": "n", "key": "k", "value": 3, "ifMatch": first})
    assert (error["status"], error["code"]) == (412, "precondition_failed")
    body = {"namespace": "n", "key": "k", "value": 3, "ownerId": "plugin-crm"}
    response = api(plugin_key.token).post(SHARED, body, format="json", HTTP_IF_MATCH=f'"{first}"')
    assert response.status_code == 412
    assert refused(principal, DELETE, {"namespace": "n", "key": "k", "ifMatch": first})["status"] == 412
    assert SharedEntry.objects.get(key="k").value == 2
    assert ok(principal, DELETE, {"namespace": "n", "key": "k", "ifMatch": second}) == {
        "success": True, "message": "Data deleted successfully"}
    assert not SharedEntry.objects.filter(key="k").exists()
    error = refused(principal, GET, {"namespace": "n", "key": "k"})
    assert (error["status"], error["details"]) == (404, {"namespace": "n", "key": "k"})


def test_a_value_too_large_is_the_413_of_http(settings, plugin_key):
    settings.SHAREDDATA_MAX_VALUE_BYTES = 10
    error = refused(as_key(plugin_key), SET, {"namespace": "n", "key": "k", "value": "x" * 20})
    assert (error["status"], error["code"]) == (413, "payload_too_large")
    assert not SharedEntry.objects.exists()


def test_shared_data_list_pages_through_the_keys_as_http_does(api, plugin_key, billing_key):
    for key in ("a", "b", "c"):
        ok(as_key(plugin_key), SET, {"namespace": "n", "key": key, "value": key})
    ok(as_key(billing_key), SET, {"namespace": "n", "key": "z", "value": "z"})
    principal, client = as_key(plugin_key), api(plugin_key.token)
    page = ok(principal, LIST, {"namespace": "n", "limit": 2})
    assert page == client.get(f"{SHARED}/n?limit=2").json()
    assert (page["keys"], page["count"]) == (["a", "b"], 4)
    rest = ok(principal, LIST, {"namespace": "n", "limit": 2, "cursor": page["nextCursor"]})
    assert rest == {"namespace": "n", "keys": ["c", "z"], "count": 4}
    assert ok(principal, LIST, {"namespace": "n", "ownerId": "plugin-billing"})["keys"] == ["z"]
    assert refused(principal, LIST, {"namespace": "n", "cursor": "!!"})["status"] == 400


def test_shared_data_is_per_organization(org, other_org, plugin_key):
    globex_crm = Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="CRM")
    globex = as_key(IssuedKey(*issue_api_key(other_org, name="globex crm", plugin=globex_crm)))
    ok(globex, SET, {"namespace": "n", "key": "k", "value": "globex"})
    principal = as_key(plugin_key)
    assert refused(principal, GET, {"namespace": "n", "key": "k"})["status"] == 404
    assert ok(principal, LIST, {"namespace": "n"})["count"] == 0
    assert refused(principal, DELETE, {"namespace": "n", "key": "k"})["status"] == 404
    ok(principal, SET, {"namespace": "n", "key": "k", "value": "acme"})
    assert dict(SharedEntry.objects.values_list("organization__slug", "value")) == {
        "acme-corp": "acme", "globex": "globex"}


@pytest.mark.parametrize(("name", "arguments", "pointer"), [
    (GET, {"namespace": "has space", "key": "k"}, "/namespace"),
    (GET, {"namespace": "n", "key": "k\n"}, "/key"),
    (GET, {"namespace": "n"}, ""),
    (SET, {"namespace": "n", "key": "k"}, ""),  # value is required (null is a value)
    (SET, {"namespace": "n", "key": "k", "value": 1, "ttl": 0}, "/ttl"),
    (SET, {"namespace": "n", "key": "k", "value": 1, "ttl": "60"}, "/ttl"),
    (SET, {"namespace": "n", "key": "k", "value": 1, "ownerId": "crm"}, "/ownerId"),
    (SET, {"namespace": "n", "key": "k", "value": 1, "owner": "plugin-crm"}, ""),
    (LIST, {"namespace": "n", "limit": 0}, "/limit"),
])
def test_shared_data_tools_refuse_bad_arguments_naming_them(plugin_key, name, arguments, pointer):
    assert invalid_pointers(as_key(plugin_key), name, arguments) == [pointer]
    assert not SharedEntry.objects.exists()


def test_null_is_a_value_and_a_null_ttl_never_expires(plugin_key):
    ok(as_key(plugin_key), SET, {"namespace": "n", "key": "k", "value": None, "ttl": None})
    assert ok(as_key(plugin_key), GET, {"namespace": "n", "key": "k"})["value"] is None
    assert SharedEntry.objects.get(key="k").expires_at is None


# --- plexica.resolve_dependencies ----------------------------------------------------------------------


def declare(org, *edges):
    dependency_services.register_dependencies(Principal.system(org), [Dependency(*edge) for edge in edges])


def test_resolve_answers_the_install_order_as_the_gateway_does(api, org, member_key, billing):
    billing.lifecycle_state = Plugin.LifecycleState.ACTIVE
    billing.save()
    declare(org, ("plugin-crm", "plugin-billing", "^1.0.0"))
    resolved = ok(as_key(member_key), RESOLVE, {"pluginId": "plugin-crm"})
    response = api(member_key.token).post(f"{GATEWAY}/dependencies/plugin-crm/resolve")
    assert (response.status_code, resolved) == (200, response.json())
    assert resolved == {"valid": True, "errors": [], "warnings": [],
                        "installOrder": ["plugin-billing", "plugin-crm"]}


def test_an_unmet_dependency_is_an_answer_with_its_errors_as_in_the_gateways_400(api, org, member_key,
                                                                                 billing):
    declare(org, ("plugin-crm", "plugin-billing", "^2.0.0"))  # billing is not installed
    resolved = ok(as_key(member_key), RESOLVE, {"pluginId": "plugin-crm"})
    response = api(member_key.token).post(f"{GATEWAY}/dependencies/plugin-crm/resolve")
    assert (response.status_code, resolved) == (400, response.json())
    assert resolved["valid"] is False and "installOrder" not in resolved
    assert resolved["errors"] == ["Missing dependency: plugin-billing (required by plugin-crm)"]


def test_resolving_an_unknown_or_foreign_plugin_is_the_gateways_404(org, other_org, org_key):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="Globex")
    for plugin_id in ("plugin-nothing", "plugin-globex"):
        error = refused(as_key(org_key), RESOLVE, {"pluginId": plugin_id})
        assert outcome(error) == (404, "not_found", {"pluginId": plugin_id})
    assert invalid_pointers(as_key(org_key), RESOLVE, {"pluginId": "globex"}) == ["/pluginId"]
    assert invalid_pointers(as_key(org_key), RESOLVE, {}) == [""]


# --- plexica.list_installable_plugins ------------------------------------------------------------------


def test_an_org_key_lists_the_delivered_plugins_as_the_delivery_api_does(api, org, org_key, crm_plugin,
                                                                          billing):
    Plugin.objects.create(organization=org, plugin_id="plugin-old", name="Old",
                          catalog_status=Plugin.CatalogStatus.ARCHIVED)
    admin = as_key(org_key)
    marketplace = create_marketplace(admin, name="Sales tools")
    add_plugin_to_marketplace(admin, marketplace, crm_plugin)
    listed = ok(admin, INSTALLABLE)
    assert listed["items"] == api(org_key.token).get("/api/v1/delivery/plugins").json()["items"]
    assert [item["id"] for item in listed["items"]] == ["plugin-billing", "plugin-crm"]
    assert listed["items"][1]["marketplaces"] == [marketplace.pk] and listed["nextCursor"] is None


def test_installable_plugins_come_a_page_at_a_time(org, org_key, crm_plugin, billing):
    first = ok(as_key(org_key), INSTALLABLE, {"limit": 1})
    assert [item["id"] for item in first["items"]] == ["plugin-billing"] and first["nextCursor"]
    second = ok(as_key(org_key), INSTALLABLE, {"limit": 1, "cursor": first["nextCursor"]})
    assert [item["id"] for item in second["items"]] == ["plugin-crm"] and second["nextCursor"] is None
    error = refused(as_key(org_key), INSTALLABLE, {"cursor": "bm90LWEtcGx1Z2lu"})  # "not-a-plugin"
    assert (error["status"], error["code"]) == (400, "invalid_request")
    assert invalid_pointers(as_key(org_key), INSTALLABLE, {"limit": 101}) == ["/limit"]


def test_a_plugin_key_and_a_member_see_only_what_is_theirs(api, org, org_key, plugin_key, member, member_key,
                                                            crm_plugin, billing):
    assert [item["id"] for item in ok(as_key(plugin_key), INSTALLABLE)["items"]] == ["plugin-crm"]
    assert ok(as_session(member), INSTALLABLE)["items"] == []
    access.grant(as_key(org_key), PLUGIN, billing.pk, access.VIEWER, membership_id=member.pk)
    for principal in (as_session(member), as_key(member_key)):
        assert [item["id"] for item in ok(principal, INSTALLABLE)["items"]] == ["plugin-billing"]
    assert ok(as_key(member_key), INSTALLABLE)["items"] == api(member_key.token).get(
        "/api/v1/delivery/plugins").json()["items"]


def test_listing_installable_plugins_costs_the_same_queries_for_more_plugins(org, org_key):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            ok(as_key(org_key), INSTALLABLE)
        return len(captured)

    Plugin.objects.create(organization=org, plugin_id="plugin-a", name="A")
    few = queries()
    for name in "bcdef":
        Plugin.objects.create(organization=org, plugin_id=f"plugin-{name}", name=name.upper())
    assert queries() == few


def test_installable_plugins_never_include_another_organizations(other_org, org_key):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="Globex")
    assert ok(as_key(org_key), INSTALLABLE) == {"items": [], "nextCursor": None}


# --- plexica.emit_event ------------------------------------------------------------------------------


def test_an_org_key_emits_an_event_as_post_events_does(api, org, org_key):
    emitted = ok(as_key(org_key), EMIT, {"type": "contact.created", "data": {"name": "Ada"},
                                         "subject": {"type": "contact", "id": "c-1"}})
    event = Event.objects.get(type="contact.created")
    assert (event.organization, event.actor_type, event.actor_id) == (org, "key", org_key.key.pk)
    assert (event.data, event.subject_type, event.subject_id) == ({"name": "Ada"}, "contact", "c-1")
    assert emitted["ok"] is True and "replayed" not in emitted
    assert emitted["item"] == api(org_key.token).get(f"/api/v1/events/{event.public_id}").json()["item"]


def test_a_plugin_key_emits_only_under_its_own_plugin_id(api, plugin_key):
    principal = as_key(plugin_key)
    emitted = ok(principal, EMIT, {"type": "plugin-crm.contact.created"})
    assert emitted["item"]["actor"] == {"type": "plugin", "id": "plugin-crm"}
    assert emitted["item"]["data"] == {}
    error = refused(principal, EMIT, {"type": "contact.created"})
    assert outcome(error) == (403, "org_capability_required", {"field": "type"})
    response = api(plugin_key.token).post("/api/v1/events", {"type": "contact.created"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, error["code"])
    assert list(Event.objects.filter(type__contains="contact").values_list("type", flat=True)) == [
        "plugin-crm.contact.created"]


def test_nobody_emits_a_platform_event(admin_session):
    error = refused(admin_session, EMIT, {"type": "plugin.installed"})
    assert (error["status"], error["code"]) == (403, "org_capability_required")
    assert not Event.objects.filter(type="plugin.installed").exists()


def test_an_idempotency_key_replays_the_first_event_and_refuses_another_request(org_key):
    principal = as_key(org_key)
    request = {"type": "invoice.paid", "data": {"id": 7}, "idempotencyKey": "pay-7"}
    first = ok(principal, EMIT, request)
    again = ok(principal, EMIT, request)
    assert again == {**first, "replayed": True}
    error = refused(principal, EMIT, {**request, "data": {"id": 8}})
    assert (error["status"], error["code"]) == (409, "idempotency_key_reused")
    assert Event.objects.filter(type="invoice.paid").count() == 1


def test_event_data_over_the_limit_is_the_413_of_http(settings, org_key):
    settings.EVENTS_MAX_DATA_BYTES = 1024
    error = refused(as_key(org_key), EMIT, {"type": "blob.saved", "data": {"blob": "x" * 2000}})
    assert (error["status"], error["details"]["field"]) == (413, "data")
    assert not Event.objects.filter(type="blob.saved").exists()


def test_an_event_lands_in_the_callers_organization_only(org, other_org, org_key, other_org_key):
    ok(as_key(org_key), EMIT, {"type": "contact.created"})
    ok(as_key(other_org_key), EMIT, {"type": "contact.created"})
    emitted = Event.objects.filter(type="contact.created").values_list("organization__slug", flat=True)
    assert sorted(emitted) == ["acme-corp", "globex"]


@pytest.mark.parametrize(("arguments", "pointer"), [
    ({"type": "created"}, "/type"),
    ({"type": "contact.created\n"}, "/type"),
    ({"type": "contact.created", "data": [1]}, "/data"),
    ({"type": "contact.created", "subject": {"type": "contact"}}, "/subject"),
    ({"type": "contact.created", "subject": {"type": "contact", "id": "  "}}, "/subject/id"),
    ({"type": "contact.created", "idempotencyKey": " padded "}, "/idempotencyKey"),
    ({"data": {}}, ""),
])
def test_emit_event_refuses_bad_arguments_naming_them(org_key, arguments, pointer):
    assert invalid_pointers(as_key(org_key), EMIT, arguments) == [pointer]
    assert not Event.objects.filter(type__startswith="contact").exists()


def test_an_owner_session_emits_with_the_member_as_actor(org):
    user, _ = ensure_user("olga")
    owner = add_member(org, user, Membership.Role.OWNER)[0]
    emitted = ok(as_session(owner), EMIT, {"type": "report.ready"})
    assert emitted["item"]["actor"] == {"type": "member", "id": "olga"}
