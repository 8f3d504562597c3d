"""The OpenAPI schema states the constraints the server enforces on request bodies and query parameters, so
that a request the schema allows is never refused as invalid, and one it forbids is never accepted."""

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.api.serializers import CALL_PATH_PATTERN, HEADER_VALUE_PATTERN, CallSerializer
from plexica.api.serializers import NOT_ONLY_WHITESPACE, WHITESPACE_CHARACTERS
from plexica.plugins.models import SEMVER_PATTERN, validate_semver
from registry.api.serializers import ENDPOINT_PATH_PATTERN, EndpointSerializer

METHODS = ("get", "post", "put", "patch", "delete")
V1 = "/api/v1"
GATEWAY = "/api/plugin-gateway"


def _query_parameters(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            for parameter in item.get(method, {}).get("parameters", []):
                if parameter["in"] == "query":
                    yield f"{method.upper()} {path}", parameter


def _query_parameter(schema, path, name, method="get"):
    parameters = schema["paths"][path][method]["parameters"]
    found = [p for p in parameters if p["name"] == name and p["in"] == "query"]
    assert found, f"{method} {path} has no query parameter {name}"
    return found[0]


# --- Query parameters --------------------------------------------------------------------------------------


def test_every_text_query_parameter_is_documented_as_never_empty(schema):
    lax = []
    for operation, parameter in _query_parameters(schema):
        if parameter["schema"].get("type") != "string" or "enum" in parameter["schema"]:
            continue
        if parameter["name"] == "cursor" and parameter["description"].startswith("The `nextCursor`"):
            continue  # the pagination cursor: an empty one is the first page (DRF's reading), not a 400
        if parameter["schema"].get("minLength") != 1:
            lax.append(f"{operation} ?{parameter['name']}")
    assert not lax, lax


def test_filter_parameters_state_their_type_choices_and_bounds(schema):
    assert _query_parameter(schema, f"{V1}/plugins", "q")["schema"] == {"type": "string", "minLength": 1}
    assert _query_parameter(schema, f"{V1}/config-objects", "includeDeleted")["schema"] == {"type": "boolean"}
    status = _query_parameter(schema, f"{V1}/connector-accounts", "status")["schema"]
    assert status["enum"] == ["active", "disconnected", "error", "inactive"]
    installation = _query_parameter(schema, f"{V1}/connector-accounts", "installationId")["schema"]
    assert installation == {"type": "integer", "minimum": -(10**18 - 1), "maximum": 10**18 - 1}


def test_hand_read_query_parameters_state_their_rules(schema):
    limit = _query_parameter(schema, f"{GATEWAY}/shared-data/{{namespace}}", "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 1000)
    assert _query_parameter(schema, f"{GATEWAY}/services", "status")["schema"]["enum"] == [
        "HEALTHY", "DEGRADED", "UNAVAILABLE"]
    assert _query_parameter(schema, f"{V1}/api-keys", "state")["schema"]["enum"] == ["active", "revoked"]
    recursive = _query_parameter(schema, f"{GATEWAY}/dependencies/{{plugin_id}}", "recursive")
    assert recursive["schema"]["type"] == "boolean"


def test_a_version_comparison_requires_both_version_ids_in_their_format(schema):
    for name in ("from", "to"):
        path = f"{V1}/config-objects/{{config_object_id}}/versions/compare"
        parameter = _query_parameter(schema, path, name)
        assert parameter["required"] is True
        assert parameter["schema"]["pattern"] == "^ver_[A-Za-z0-9]{22}$"


def test_the_server_refuses_an_empty_search_as_the_schema_says(admin_api, org):
    assert admin_api.get(f"{V1}/plugins", {"q": ""}).status_code == 400
    assert admin_api.get(f"{V1}/plugins", {"q": "c"}).status_code == 200


def test_the_shared_data_page_size_is_refused_exactly_outside_its_documented_bounds(gateway_api):
    url = f"{GATEWAY}/shared-data/crm.cache"
    assert [gateway_api.get(url, {"limit": limit}).status_code for limit in (0, 1, 1000, 1001)] == [
        400, 200, 200, 400]


# --- Bodies: what the strict base and DRF check ------------------------------------------------------------


def _body(schema, name):
    return schema["components"]["schemas"][name]


def test_text_that_may_not_be_blank_needs_a_character_that_is_not_whitespace(schema):
    name = _body(schema, "MarketplaceInputRequest")["properties"]["name"]
    assert (name["minLength"], name["pattern"], name["maxLength"]) == (1, NOT_ONLY_WHITESPACE, 200)
    # A pattern of its own already says it, and responses are not inputs.
    assert _body(schema, "PluginInputRequest")["properties"]["pluginId"]["pattern"].startswith("^plugin-")
    assert "pattern" not in _body(schema, "Marketplace")["properties"]["name"]


def test_the_server_refuses_whitespace_for_a_name_as_the_schema_says(admin_api, org):
    response = admin_api.post(f"{V1}/marketplaces", {"name": " \t"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("name: ")


def test_a_name_longer_than_its_maximum_as_sent_is_refused_even_if_it_fits_once_trimmed(admin_api, org):
    response = admin_api.post(f"{V1}/marketplaces", {"name": " " + "x" * 200}, format="json")
    assert response.status_code == 400, response.content
    message = "Ensure this field has no more than 200 characters."
    assert response.json()["error"]["details"] == {"name": [message]}
    assert admin_api.post(f"{V1}/marketplaces", {"name": " " + "x" * 199}, format="json").status_code == 201


def test_lists_of_nested_bodies_state_their_bounds(schema):
    dependencies = _body(schema, "RegisterDependenciesRequest")["properties"]["dependencies"]
    assert (dependencies["minItems"], dependencies["maxItems"]) == (1, 500)
    mappings = _body(schema, "GitHubSetupRequest")["properties"]["mappings"]
    assert (mappings["minItems"], mappings["maxItems"]) == (1, 100)
    assert _body(schema, "RegisterServiceRequest")["properties"]["endpoints"]["maxItems"] == 200


def test_an_empty_dependency_list_is_refused_as_the_schema_says(gateway_api):
    response = gateway_api.post(f"{GATEWAY}/dependencies", {"dependencies": []}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "dependencies: This list may not be empty."


# --- Bodies: formats ---------------------------------------------------------------------------------------


def test_semantic_versions_carry_the_semver_pattern_wherever_a_body_takes_one(schema):
    versions = [
        _body(schema, "PluginInputRequest")["properties"]["version"],
        _body(schema, "PatchedPluginPatchRequest")["properties"]["version"],
        _body(schema, "InstallRequest")["properties"]["version"],
        _body(schema, "RegisterServiceRequest")["properties"]["version"],
    ]
    assert all(v["pattern"] == SEMVER_PATTERN and v["maxLength"] == 64 for v in versions), versions


def _matches(pattern, text):
    """Whether `text` matches a schema `pattern` as JSON Schema reads it (no LF after `$`)."""
    python = pattern.removesuffix("$") + r"\Z" if pattern.endswith("$") else pattern
    return re.search(python, text) is not None


def _server_takes_semver(text):
    try:
        validate_semver(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("version", [
    "1.4.0", "0.0.0", "10.20.30-rc.1+build.5", "1.0.0-0a.x-y",
    "0", "1.2", "01.0.0", "1.0.0-01", "1.0.0-", "v1.0.0", " 1.0.0", "1.0.0\n", "\u0661.0.0", "1.0.0+",
    "1.0.0-a..b",
])
def test_the_semver_pattern_takes_exactly_what_the_server_takes(version):
    assert _matches(SEMVER_PATTERN, version) == _server_takes_semver(version)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(SEMVER_PATTERN, fullmatch=True) | st.text(alphabet="0123456789.-+abx\n ", max_size=12))
def test_the_semver_pattern_and_the_server_agree_on_generated_versions(version):
    assert _matches(SEMVER_PATTERN, version) == _server_takes_semver(version)


def test_a_version_the_schema_refuses_is_refused_by_the_server(admin_api, org):
    response = admin_api.post(f"{V1}/plugins", {"pluginId": "plugin-zero", "name": "Zero", "version": "0"},
                              format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "version": ["'0' is not a valid semantic version (for example 1.4.0)."]}


def test_a_manifest_is_documented_as_an_object_that_cannot_be_null(schema, admin_api, org):
    for body in ("PluginInputRequest", "PatchedPluginPatchRequest"):
        manifest = _body(schema, body)["properties"]["manifest"]
        assert manifest["type"] == "object" and "nullable" not in manifest
    admin_api.post(f"{V1}/plugins", {"pluginId": "plugin-zero", "name": "Zero"}, format="json")
    for manifest in (None, ["not", "an", "object"], "{}"):
        response = admin_api.patch(f"{V1}/plugins/plugin-zero", {"manifest": manifest}, format="json")
        assert response.status_code == 400 and "manifest" in response.json()["error"]["details"], manifest
    response = admin_api.patch(f"{V1}/plugins/plugin-zero", {"manifest": {"entry": "main.js"}}, format="json")
    assert response.status_code == 200 and response.json()["item"]["manifest"] == {"entry": "main.js"}


def _call_refuses(**fields):
    """The fields of a call body the gateway's serializer refuses (names), for a body otherwise valid."""
    body = {"callerPluginId": "plugin-a", "targetPluginId": "plugin-b", "targetServiceName": "crm.contacts",
            "method": "GET", "path": "/contacts", **fields}
    serializer = CallSerializer(data=body)
    return set() if serializer.is_valid() else set(serializer.errors)


def _endpoint_path_is_taken(path):
    return EndpointSerializer(data={"method": "GET", "path": path}).is_valid()


_PATHS = st.text(alphabet="/.%2eEfF5cC07a:;@~ \n\\?", max_size=10)


@settings(max_examples=400, deadline=None)
@given(st.from_regex(CALL_PATH_PATTERN, fullmatch=True) | _PATHS
       | st.from_regex(r"^/[a-z.%0-9A-F;]{0,12}$", fullmatch=True))
def test_the_call_path_pattern_takes_exactly_the_paths_the_gateway_takes(path):
    assert _matches(CALL_PATH_PATTERN, path) == ("path" not in _call_refuses(path=path)), path


@settings(max_examples=200, deadline=None)
@given(st.from_regex(ENDPOINT_PATH_PATTERN, fullmatch=True) | _PATHS
       | st.from_regex(r"^(?:/:?[a-z_0-9]{0,3}){1,3}$", fullmatch=True))
def test_the_endpoint_path_pattern_takes_exactly_the_paths_registration_takes(path):
    assert _matches(ENDPOINT_PATH_PATTERN, path) == _endpoint_path_is_taken(path), path


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n\r\x0b\x1f\x7f\x85\xa0a\xff\u2003\u2615\x00", max_size=6))
def test_the_header_value_pattern_takes_exactly_the_values_the_gateway_takes(value):
    taken = "headers" not in _call_refuses(headers={"X-Note": value})
    assert _matches(HEADER_VALUE_PATTERN, value) == taken


def test_the_whitespace_of_schema_patterns_is_what_python_and_so_drf_trims():
    spaces = {chr(code) for code in range(0x110000) if chr(code).isspace()}
    whitespace = re.compile(f"[{WHITESPACE_CHARACTERS}]")
    assert {chr(code) for code in range(0x110000) if whitespace.fullmatch(chr(code))} == spaces


def test_a_call_body_states_its_path_headers_and_query_rules(schema):
    call = _body(schema, "CallRequest")["properties"]
    assert (call["path"]["pattern"], call["path"]["maxLength"]) == (CALL_PATH_PATTERN, 2000)
    assert call["headers"]["maxProperties"] == 100
    assert call["headers"]["additionalProperties"]["pattern"] == HEADER_VALUE_PATTERN
    listed = call["query"]["additionalProperties"]["oneOf"][-1]
    assert listed["type"] == "array" and listed["minItems"] == 1


@pytest.mark.parametrize("path", ["contacts", "/contacts/../admin", "/a%2fb", "/contacts%", "/a b", "/a\n/b"])
def test_call_paths_the_schema_refuses_are_refused_by_the_gateway(path):
    assert not _matches(CALL_PATH_PATTERN, path)
    assert "path" in _call_refuses(path=path)


def _field_takes(serializer_class, field, value, **others):
    """Whether `serializer_class` takes `value` for `field` (the other fields may still be refused)."""
    serializer = serializer_class(data={field: value, **others})
    return serializer.is_valid() or field not in serializer.errors


def _connector_pattern(name):
    import connectors.api.serializers

    return getattr(connectors.api.serializers, name)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab.-_/ \n", max_size=8)
       | st.from_regex(r"^[a-z.-]{1,4}/[a-z._-]{1,4}$", fullmatch=True))
def test_the_repository_name_pattern_takes_exactly_what_the_server_takes(name):
    from connectors.api.serializers import ConnectorTargetInputSerializer

    taken = _field_takes(ConnectorTargetInputSerializer, "repositoryFullName", name)
    assert _matches(_connector_pattern("REPOSITORY_FULL_NAME_PATTERN"), name) == taken, name


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab.-/@{~:lock \x7f\u2028", max_size=9))
def test_the_branch_pattern_takes_exactly_what_git_takes(branch):
    from connectors.api.serializers import ConnectorTargetInputSerializer

    taken = _field_takes(ConnectorTargetInputSerializer, "branch", branch)
    assert _matches(_connector_pattern("BRANCH_PATTERN"), branch) == taken, branch


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="a*/.[]\\ \t\x1f\x7f\u2003!", max_size=8))
def test_the_selector_pattern_takes_exactly_what_the_server_takes(selector):
    from connectors.api.serializers import ConnectorMappingInputSerializer

    taken = _field_takes(ConnectorMappingInputSerializer, "selector", selector)
    assert _matches(_connector_pattern("SELECTOR_PATTERN"), selector) == taken, selector


URL_PARTS = ["https://", "/", "a", "@", ":", "?", "#", "\u00e9", " "]


# "[" and "]" are left out: validate_logo_url raises ValueError (a 500) for "https://[" (urlsplit).
@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="/hHtps:a@.#?%\\ \t\x7f\u00e9", max_size=12)
       | st.builds("".join, st.lists(st.sampled_from(URL_PARTS), max_size=6)))
def test_the_logo_url_pattern_takes_exactly_what_the_server_takes(url):
    from marketplaces.catalog.api.serializers import LOGO_URL_PATTERN, MarketplaceInputSerializer

    taken = _field_takes(MarketplaceInputSerializer, "logoUrl", url, name="Sales")
    assert (url == "" or _matches(LOGO_URL_PATTERN, url)) == taken, url


def test_connector_and_marketplace_bodies_carry_their_formats(schema):
    target = _body(schema, "ConnectorTargetInputRequest")["properties"]
    assert target["repositoryFullName"]["pattern"] == _connector_pattern("REPOSITORY_FULL_NAME_PATTERN")
    assert target["branch"]["pattern"] == _connector_pattern("BRANCH_PATTERN")
    for body in ("ConnectorMappingInputRequest", "SetupMappingRequest"):
        selector = _body(schema, body)["properties"]["selector"]
        assert selector["pattern"] == _connector_pattern("SELECTOR_PATTERN")
    logo = _body(schema, "MarketplaceInputRequest")["properties"]["logoUrl"]
    assert logo["oneOf"][1] == {"type": "string", "maxLength": 0}  # or blank
    assert logo["oneOf"][0]["pattern"].startswith("^(?:/(?!/)")


@pytest.mark.parametrize("selector", ["/sales/**", "sales/../x", "sales\n/**", "  "])
def test_a_selector_the_schema_refuses_is_refused_by_the_server(admin_api, selector, org):
    from connectors.api.serializers import ConnectorMappingInputSerializer

    assert not _matches(_connector_pattern("SELECTOR_PATTERN"), selector)
    assert not _field_takes(ConnectorMappingInputSerializer, "selector", selector)


# --- Bodies: rules across fields ---------------------------------------------------------------------------


def _json_schema(schema, name):
    """Component `name` as plain JSON Schema: references inlined, OpenAPI's nullable as a null type."""

    def convert(node):
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return convert(schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
        converted = {key: convert(value) for key, value in node.items() if key != "nullable"}
        return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted

    return convert(schema["components"]["schemas"][name])


def _schema_takes(schema, name, body):
    import jsonschema

    return jsonschema.Draft7Validator(_json_schema(schema, name)).is_valid(body)


MEMBER, TEAM = "mem_" + "a" * 22, "team_" + "b" * 22


@pytest.mark.parametrize("subject", [
    {"orgMembershipId": MEMBER}, {"teamId": TEAM}, {"orgWide": True},
    {"orgMembershipId": MEMBER, "orgWide": False},
    {}, {"orgWide": False}, {"orgMembershipId": MEMBER, "teamId": TEAM}, {"teamId": TEAM, "orgWide": True},
])
def test_a_grant_body_names_exactly_one_subject_in_the_schema_as_on_the_server(schema, subject):
    from plexica.access.api.serializers import GrantInputSerializer

    body = {**subject, "role": "viewer"}
    assert _schema_takes(schema, "GrantInputRequest", body) == GrantInputSerializer(data=body).is_valid()


@pytest.mark.parametrize("body", [
    {"rawSourceText": ""}, {"normalizedPayloadJson": {}}, {"normalizedPayloadJson": 0},
    {"rawSourceText": None, "normalizedPayloadJson": []},
    {}, {"rawSourceText": None}, {"normalizedPayloadJson": None}, {"metadata": {}, "schemaVersion": "1"},
])
def test_a_version_input_gives_a_text_or_a_json_payload_in_the_schema_as_on_the_server(schema, body):
    from marketplaces.config_objects.api.serializers import VersionInputSerializer

    assert _schema_takes(schema, "VersionInputRequest", body) == VersionInputSerializer(data=body).is_valid()


@pytest.mark.parametrize("body", [
    {"autoAddToPlugin": True}, {"autoAddToPlugin": True, "pluginId": None},
    {"autoAddToPlugin": True, "pluginId": "plugin-crm"}, {"autoAddToPlugin": False}, {},
])
def test_adding_mapped_objects_to_a_plugin_needs_one_in_the_schema_as_on_the_server(schema, body):
    from connectors.api.serializers import ConnectorMappingInputSerializer, SetupMappingSerializer

    body = {"selector": "skills/**", "objectType": "skill", **body}
    for name, serializer in (("ConnectorMappingInputRequest", ConnectorMappingInputSerializer),
                             ("SetupMappingRequest", SetupMappingSerializer)):
        assert _schema_takes(schema, name, body) == serializer(data=body).is_valid(), name
    # A patch changes some fields of a mapping: the rule is the whole mapping's.
    assert _schema_takes(schema, "PatchedConnectorMappingInputRequest", {"autoAddToPlugin": True})


def test_an_api_key_for_a_plugin_and_a_member_at_once_is_refused_as_the_schema_says(schema, admin_api,
                                                                                    member):
    body = {"name": "both", "pluginId": "plugin-crm", "membershipId": member.pk}
    assert not _schema_takes(schema, "ApiKeyCreateRequest", body)
    response = admin_api.post(f"{V1}/api-keys", body, format="json")
    assert response.status_code == 400 and "membershipId" in response.json()["error"]["details"]


def test_ids_in_bodies_carry_their_format(schema):
    def pattern(body, field):
        return _body(schema, body)["properties"][field]["pattern"]

    assert pattern("GrantInputRequest", "orgMembershipId") == "^mem_[A-Za-z0-9]{22}$"
    assert pattern("GrantInputRequest", "teamId") == "^team_[A-Za-z0-9]{22}$"
    assert pattern("AddConfigObjectRequest", "configObjectId") == "^cfo_[A-Za-z0-9]{22}$"
    assert pattern("AddPluginRequest", "pluginId") == "^plugin-[a-z0-9][a-z0-9-]*$"
    assert pattern("NewVersionRequest", "baseVersionId") == "^ver_[A-Za-z0-9]{22}$"
    assert pattern("ConnectorInstanceInputRequest", "accountId") == "^cac_[A-Za-z0-9]{22}$"
    assert pattern("ApiKeyCreateRequest", "membershipId") == "^mem_[A-Za-z0-9]{22}$"
    assert _body(schema, "CreateConfigObjectRequest")["properties"]["pluginIds"]["items"]["pattern"] == (
        "^plugin-[a-z0-9][a-z0-9-]*$")
    # The client state takes the ids a client kept, in delivery's looser format, and at most 5000 of them.
    assert pattern("ClientStateItemRequest", "configObjectId") == "^cfo_[A-Za-z0-9]{1,28}$"
    assert _body(schema, "ClientStateInputRequest")["properties"]["items"]["maxItems"] == 5000


def test_a_malformed_id_in_a_body_finds_nothing_like_an_unknown_one(admin_api, org, crm_plugin):
    for config_object_id in ("cfo_missing", " cfo_" + "a" * 22):
        url = f"{V1}/plugins/plugin-crm/config-objects"
        response = admin_api.post(url, {"configObjectId": config_object_id}, format="json")
        assert response.status_code == 404, response.content


def test_a_shared_entry_lives_at_most_ten_years_in_the_schema_as_on_the_server(schema, gateway_api):
    ttl = _body(schema, "SetSharedDataRequest")["properties"]["ttl"]
    assert (ttl["minimum"], ttl["maximum"]) == (1, 315360000)
    body = {"namespace": "crm.cache", "key": "k", "value": 1, "ownerId": "plugin-crm"}
    assert gateway_api.post(f"{GATEWAY}/shared-data", {**body, "ttl": 315360000}, format="json").status_code == 201
    response = gateway_api.post(f"{GATEWAY}/shared-data", {**body, "ttl": 315360001}, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("ttl: ")
