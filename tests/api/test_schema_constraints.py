"""The OpenAPI schema states the constraints the server enforces on request bodies and query parameters, so
that a request the schema allows is never refused as invalid, and one it forbids is never accepted."""

import pytest

METHODS = ("get", "post", "put", "patch", "delete")
V1 = "/api/v1"
GATEWAY = "/api/plugin-gateway"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


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


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


@pytest.fixture
def gateway_api(api, plugin_key):
    return api(plugin_key.token)


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
