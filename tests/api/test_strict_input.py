"""Strict input on every surface: a body holds only known fields, each of its field's JSON type, and a query
parameter that is given holds a valid value. Otherwise the answer is a 400 naming the field, and nothing
is stored."""

import pytest

from connectors.models import ConnectorAccount, ConnectorMapping, ConnectorTarget
from marketplaces.catalog.models import Marketplace
from marketplaces.config_objects.models import ConfigObject
from marketplaces.delivery.models import ClientState
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from registry.models import PluginService
from shareddata.models import SharedEntry
from tests.connectors import factories

V1 = "/api/v1"
GATEWAY = "/api/plugin-gateway"
SKILL = "---\nname: Summarize\ndescription: Summarize a thread\n---\nSteps..."


def refused(response, field):
    """The /api/v1/ validation error of `response`, whose message names `field`."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error", error
    assert error["message"].startswith(f"{field}: "), error["message"]
    return error


def refused_by_gateway(response, field):
    """The plugin gateway's 400, in its dialect, whose message names `field`."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "Invalid request", body
    assert body["message"].startswith(f"{field}: "), body["message"]
    return body


def skill_body(**overrides):
    return {"type": "skill", "sourceMode": "cloud", "input": {"rawSourceText": SKILL}, **overrides}


# --- Types in bodies ---------------------------------------------------------------------------------------


def test_a_plugin_named_by_a_number_is_refused_not_stored_as_text(admin_api, org):
    response = admin_api.post(f"{V1}/plugins", {"pluginId": "plugin-zero", "name": 0}, format="json")
    error = refused(response, "name")
    assert error["message"] == "name: Must be a string."
    assert error["details"] == {"name": ["Must be a string."]}
    assert not Plugin.objects.filter(plugin_id="plugin-zero").exists()


def test_a_marketplace_named_by_a_number_is_refused(admin_api, org):
    refused(admin_api.post(f"{V1}/marketplaces", {"name": 0}, format="json"), "name")
    assert not Marketplace.objects.exists()


@pytest.mark.parametrize("value", [0, 1.5, True, ["text"], {"text": "x"}])
def test_a_config_object_whose_raw_source_text_is_not_a_string_is_refused(admin_api, org, value):
    body = skill_body(input={"rawSourceText": value})
    error = refused(admin_api.post(f"{V1}/config-objects", body, format="json"), "input.rawSourceText")
    assert error["message"] == "input.rawSourceText: Must be a string."
    assert not ConfigObject.objects.exists()


def test_a_choice_given_as_a_number_is_refused(admin_api, org):
    refused(admin_api.post(f"{V1}/config-objects", skill_body(sourceMode=1), format="json"), "sourceMode")
    assert not ConfigObject.objects.exists()


def test_items_of_a_list_of_strings_must_be_strings(admin_api, org):
    error = refused(admin_api.post(f"{V1}/config-objects", skill_body(pluginIds=[7]), format="json"),
                    "pluginIds[0]")
    assert error["message"] == "pluginIds[0]: Must be a string."
    assert not ConfigObject.objects.exists()


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_a_mapping_whose_auto_add_to_plugin_is_not_a_json_boolean_is_refused(admin_api, org, crm_plugin,
                                                                              value):
    target = factories.target(org)
    body = {"selector": "skills/**", "objectType": "skill", "pluginId": "plugin-crm",
            "autoAddToPlugin": value}
    response = admin_api.post(f"{V1}/connector-targets/{target.pk}/mappings", body, format="json")
    refused(response, "autoAddToPlugin")
    assert not ConnectorMapping.objects.exists()


def test_a_mapping_with_a_json_boolean_is_accepted(admin_api, org, crm_plugin):
    target = factories.target(org)
    body = {"selector": "skills/**", "objectType": "skill", "pluginId": "plugin-crm", "autoAddToPlugin": True}
    response = admin_api.post(f"{V1}/connector-targets/{target.pk}/mappings", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["item"]["autoAddToPlugin"] is True


def test_a_release_pin_given_as_text_is_refused(admin_api, org, crm_plugin):
    response = admin_api.post(f"{V1}/plugins/plugin-crm/releases", {"pin": "true"}, format="json")
    error = refused(response, "pin")
    assert error["message"] == "pin: Must be true or false."
    assert not crm_plugin.releases.exists()


@pytest.mark.parametrize("value", ["5", 5.0, 0.5, True])
def test_an_installation_id_that_is_not_a_json_integer_is_refused(admin_api, org, value):
    response = admin_api.post(f"{V1}/connector-accounts", {"installationId": value}, format="json")
    error = refused(response, "installationId")
    assert error["message"] == "installationId: Must be an integer."
    assert not ConnectorAccount.objects.exists()


def test_a_datetime_given_as_a_number_is_refused(admin_api, org):
    response = admin_api.post(f"{V1}/api-keys", {"name": "ci", "expiresAt": 5}, format="json")
    refused(response, "expiresAt")


def test_a_wrong_type_and_a_missing_field_are_both_reported(admin_api, org):
    response = admin_api.post(f"{V1}/plugins", {"name": 0}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Missing required field: pluginId"
    assert error["details"] == {"pluginId": ["This field is required."], "name": ["Must be a string."]}


def test_null_still_answers_whether_the_field_allows_it(admin_api, org):
    error = refused(admin_api.post(f"{V1}/marketplaces", {"name": None}, format="json"), "name")
    assert error["message"] == "name: This field may not be null."


# --- Unknown and read-only fields in bodies ----------------------------------------------------------------


def test_an_unknown_field_on_a_post_is_refused_by_name(admin_api, org):
    response = admin_api.post(f"{V1}/marketplaces", {"name": "Sales", "colour": "blue"}, format="json")
    error = refused(response, "colour")
    assert error["message"] == "colour: Unknown field."
    assert error["details"] == {"colour": ["Unknown field."]}
    assert not Marketplace.objects.exists()


def test_a_config_object_does_not_take_a_name_its_front_matter_gives(admin_api, org):
    refused(admin_api.post(f"{V1}/config-objects", skill_body(name=0), format="json"), "name")
    assert not ConfigObject.objects.exists()


def test_an_unknown_field_on_a_patch_is_refused_and_nothing_changes(admin_api, org):
    item = admin_api.post(f"{V1}/marketplaces", {"name": "Sales"}, format="json").json()["item"]
    body = {"name": "Renamed", "nmae": "x"}
    response = admin_api.patch(f"{V1}/marketplaces/{item['id']}", body, format="json")
    refused(response, "nmae")
    assert Marketplace.objects.get(pk=item["id"]).name == "Sales"


def test_a_typo_in_a_plugin_patch_is_refused_instead_of_ignored(admin_api, org, crm_plugin):
    response = admin_api.patch(f"{V1}/plugins/plugin-crm", {"descripton": "Contacts"}, format="json")
    refused(response, "descripton")
    crm_plugin.refresh_from_db()
    assert crm_plugin.description == ""


def test_a_response_field_sent_back_in_a_patch_is_refused_with_its_reason(admin_api, org, crm_plugin):
    response = admin_api.patch(f"{V1}/plugins/plugin-crm", {"name": "CRM 2", "lifecycleState": "active"},
                               format="json")
    error = refused(response, "lifecycleState")
    assert "install, enable, disable and uninstall" in error["message"]
    crm_plugin.refresh_from_db()
    assert crm_plugin.name == "CRM"


@pytest.mark.parametrize("body, field", [({"orgWide": 1, "role": "viewer"}, "orgWide"),
                                         ({"orgWide": True, "role": "viewer", "expires": "never"}, "expires")])
def test_a_grant_with_a_lax_value_or_an_unknown_field_is_refused(admin_api, org, crm_plugin, body, field):
    refused(admin_api.post(f"{V1}/plugins/plugin-crm/grants", body, format="json"), field)
    assert not AccessGrant.objects.exists()


def test_an_unknown_field_in_a_nested_list_item_is_named_by_its_path(admin_api, org):
    body = {"installationId": 4242, "connectorInstanceName": "Sales", "repositoryId": 99,
            "repositoryFullName": "acme/sales", "branch": "main",
            "mappings": [{"selector": "a/**", "objectType": "skill"},
                         {"selector": "b/**", "objectType": "agent", "foo": 1}]}
    error = refused(admin_api.post(f"{V1}/connectors/github/setup", body, format="json"), "mappings[1].foo")
    assert error["message"] == "mappings[1].foo: Unknown field."
    assert not ConnectorAccount.objects.exists() and not ConnectorTarget.objects.exists()


def test_a_mistyped_field_in_a_nested_list_item_is_named_by_its_path(admin_api, org):
    body = {"installationId": 4242, "connectorInstanceName": "Sales", "repositoryId": 99,
            "repositoryFullName": "acme/sales", "branch": "main",
            "mappings": [{"selector": "a/**", "objectType": "skill", "autoAddToPlugin": 0}]}
    response = admin_api.post(f"{V1}/connectors/github/setup", body, format="json")
    refused(response, "mappings[0].autoAddToPlugin")
    assert not ConnectorAccount.objects.exists()


def test_an_unknown_field_in_a_nested_object_is_named_by_its_path(admin_api, org):
    body = skill_body(input={"rawSourceText": SKILL, "rawText": SKILL})
    refused(admin_api.post(f"{V1}/config-objects", body, format="json"), "input.rawText")
    assert not ConfigObject.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"items": [{"pluginId": "plugin-crm", "configObjectId": "cfo_abc", "versionId": "ver_abc",
                 "installedAt": "2026-01-01"}]}, "items[0].installedAt"),
    ({"items": [], "force": True}, "force"),
])
def test_an_unknown_field_of_a_client_state_is_refused(api, org, member_key, body, field):
    response = api(member_key.token).post(f"{V1}/delivery/clients/laptop-1/state", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["message"].lower() == f"{field}: unknown field.".lower()
    assert response.json()["error"]["details"]["field"] == field
    assert not ClientState.objects.exists()


# --- Query parameters --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["AAA", "2", "null", "", "1", "True"])
def test_include_deleted_must_be_true_or_false_on_the_config_object_list(admin_api, org, value):
    error = refused(admin_api.get(f"{V1}/config-objects", {"includeDeleted": value}), "includeDeleted")
    assert error["message"] == "includeDeleted: Must be true or false."


@pytest.mark.parametrize("value", ["AAA", "2", "null", ""])
def test_include_deleted_must_be_true_or_false_on_one_config_object(admin_api, org, value):
    item = admin_api.post(f"{V1}/config-objects", skill_body(), format="json").json()["item"]
    refused(admin_api.get(f"{V1}/config-objects/{item['id']}", {"includeDeleted": value}), "includeDeleted")


def test_include_deleted_must_be_true_or_false_on_the_marketplace_list(admin_api, org):
    refused(admin_api.get(f"{V1}/marketplaces", {"includeDeleted": "yes"}), "includeDeleted")


def test_include_deleted_true_and_false_still_work(admin_api, org):
    item = admin_api.post(f"{V1}/config-objects", skill_body(), format="json").json()["item"]
    assert admin_api.delete(f"{V1}/config-objects/{item['id']}").status_code == 204
    listed = lambda value: [i["id"] for i in admin_api.get(  # noqa: E731
        f"{V1}/config-objects", {"includeDeleted": value}).json()["items"]]
    assert listed("true") == [item["id"]]
    assert listed("false") == []


@pytest.mark.parametrize("value", ["0.5", "1e3", "", "abc", "٥"])
def test_installation_id_filter_must_be_a_whole_number(admin_api, org, value):
    factories.account(org, installation_id=1001)
    error = refused(admin_api.get(f"{V1}/connector-accounts", {"installationId": value}), "installationId")
    assert error["message"] == "installationId: Must be a whole number."


def test_installation_id_filter_still_filters(admin_api, org):
    factories.account(org, installation_id=1001)
    response = admin_api.get(f"{V1}/connector-accounts", {"installationId": "1001"})
    assert [i["installationId"] for i in response.json()["items"]] == [1001]
    assert admin_api.get(f"{V1}/connector-accounts", {"installationId": "1002"}).json()["items"] == []


@pytest.mark.parametrize("value", ["", "bogus", "null"])
def test_an_enum_filter_that_is_empty_or_unknown_is_refused_with_the_allowed_values(admin_api, org, value):
    error = refused(admin_api.get(f"{V1}/config-objects", {"status": value}), "status")
    assert error["message"] == "status: Must be one of: active, inactive, archived, deleted, ingestion_error."


def test_an_empty_enum_filter_of_sync_events_is_refused(admin_api, org):
    refused(admin_api.get(f"{V1}/connector-sync-events", {"status": ""}), "status")


def test_an_empty_text_filter_is_refused_rather_than_listing_everything(admin_api, org):
    error = refused(admin_api.get(f"{V1}/connector-instances", {"accountId": ""}), "accountId")
    assert error["message"] == "accountId: Must not be empty (leave the parameter out instead)."


@pytest.mark.parametrize("url", [f"{V1}/api-keys?pluginId=", f"{V1}/members?teamId=",
                                 f"{V1}/delivery/plugins/plugin-crm/manifest?release="])
def test_an_empty_id_parameter_of_a_view_is_refused(admin_api, org, crm_plugin, url):
    name = url.rsplit("?", 1)[1].rstrip("=")
    refused(admin_api.get(url), name)


def test_an_unknown_query_parameter_is_ignored(admin_api, org):
    assert admin_api.get(f"{V1}/config-objects", {"_": "1712345678"}).status_code == 200


@pytest.mark.parametrize("value", ["²", "1.5", ""])
def test_a_page_limit_that_is_not_a_whole_number_is_refused(admin_api, org, value):
    refused(admin_api.get(f"{V1}/config-objects", {"limit": value}), "limit")


# --- The plugin gateway ------------------------------------------------------------------------------------


def test_the_gateway_refuses_an_unknown_registration_field_in_its_dialect(gateway_api, org, crm_plugin):
    body = {"pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
            "baseUrl": "http://127.0.0.1:3100", "healthUrl": "/health"}
    response = gateway_api.post(f"{GATEWAY}/services/register", body, format="json")
    assert refused_by_gateway(response, "healthUrl")["message"] == "healthUrl: Unknown field."
    assert not PluginService.objects.exists()


def test_the_gateway_names_an_unknown_field_of_an_endpoint_by_its_path(gateway_api, org, crm_plugin):
    body = {"pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
            "endpoints": [{"method": "GET", "path": "/contacts", "scopes": ["read"]}]}
    refused_by_gateway(gateway_api.post(f"{GATEWAY}/services/register", body, format="json"),
                       "endpoints[0].scopes")
    assert not PluginService.objects.exists()


def test_the_gateway_refuses_a_shared_value_with_an_unknown_field(gateway_api, org, crm_plugin):
    body = {"namespace": "crm.cache", "key": "count", "value": 1, "ownerId": "plugin-crm", "ttl": 60,
            "expiresAt": "2030-01-01T00:00:00Z"}
    refused_by_gateway(gateway_api.post(f"{GATEWAY}/shared-data", body, format="json"), "expiresAt")
    assert not SharedEntry.objects.exists()


def test_the_gateway_refuses_a_header_value_that_is_not_a_string(gateway_api, org, crm_plugin):
    body = {"callerPluginId": "plugin-crm", "targetPluginId": "plugin-crm",
            "targetServiceName": "crm.contacts", "method": "GET", "path": "/contacts",
            "headers": {"X-Page": 2}}
    refused_by_gateway(gateway_api.post(f"{GATEWAY}/call", body, format="json"), "headers.X-Page")


@pytest.mark.parametrize("value", ["1", "yes", ""])
def test_the_gateway_recursive_flag_is_true_or_false(gateway_api, org, crm_plugin, value):
    response = gateway_api.get(f"{GATEWAY}/dependencies/plugin-crm", {"recursive": value})
    assert refused_by_gateway(response, "recursive")["message"] == "recursive: Must be true or false."


def test_the_gateway_service_list_refuses_an_empty_status(gateway_api, org, crm_plugin):
    body = refused_by_gateway(gateway_api.get(f"{GATEWAY}/services", {"status": ""}), "status")
    assert body["message"] == "status: Must be one of: HEALTHY, DEGRADED, UNAVAILABLE."


def test_the_seeds_request_bodies_stay_accepted(gateway_api, org, crm_plugin):
    Plugin.objects.create(organization=org, plugin_id="plugin-analytics", name="Analytics", version="1.0.0")
    register = {
        "pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
        "baseUrl": "http://127.0.0.1:3100",
        "endpoints": [{"method": "GET", "path": "/contacts", "description": "List all contacts",
                       "permissions": ["crm:contacts:read"], "metadata": {"paginated": True}},
                      {"method": "GET", "path": "/contacts/:id", "description": "Get contact by ID",
                       "permissions": ["crm:contacts:read"]}],
        "metadata": {"description": "CRM Contacts API", "maintainer": "crm-team@example.com"},
    }
    assert gateway_api.post(f"{GATEWAY}/services/register", register, format="json").status_code == 201
    shared = {"namespace": "crm.cache", "key": "contact_count", "value": 1250, "ownerId": "plugin-crm",
              "ttl": 3600}
    assert gateway_api.post(f"{GATEWAY}/shared-data", shared, format="json").status_code == 201
    dependencies = {"dependencies": [{"pluginId": "plugin-crm", "dependsOnPluginId": "plugin-analytics",
                                      "version": "^1.0.0", "required": False}]}
    assert gateway_api.post(f"{GATEWAY}/dependencies", dependencies, format="json").status_code == 201
    assert gateway_api.get(f"{GATEWAY}/dependencies/plugin-crm", {"recursive": "true"}).status_code == 200
    assert gateway_api.get(f"{GATEWAY}/services", {"pluginId": "plugin-crm"}).status_code == 200
    assert gateway_api.get(f"{GATEWAY}/shared-data/crm.cache", {"ownerId": "plugin-crm"}).status_code == 200
