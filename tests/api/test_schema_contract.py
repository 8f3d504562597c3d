"""The OpenAPI schema documents every status each operation can answer, in its surface's error dialect."""


METHODS = ("get", "post", "put", "patch", "delete")


def _operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _ref(response):
    return response["content"]["application/json"]["schema"].get("$ref", "")


def test_every_tenant_operation_documents_the_refusals_that_come_before_it_runs(schema):
    for path, method, operation in _operations(schema):
        if not any(p["name"] == "X-Tenant-Slug" for p in operation.get("parameters", [])):
            continue
        assert {"400", "401", "403", "429"} <= set(operation["responses"]), (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(operation["responses"]), (method, path)


def test_v1_errors_use_the_error_object_and_gateway_errors_the_seed_dialect(schema):
    responses = schema["paths"]["/api/v1/plugins"]["post"]["responses"]
    assert _ref(responses["400"]).endswith("/Error") and _ref(responses["409"]).endswith("/Error")
    assert _ref(responses["403"]).endswith("/Error403")
    gateway = schema["paths"]["/api/plugin-gateway/services/register"]["post"]["responses"]
    assert _ref(gateway["409"]).endswith("/GatewayError") and _ref(gateway["401"]).endswith("/GatewayError")


def test_every_403_code_is_enumerated_in_the_schema(schema):
    code = schema["components"]["schemas"]["ErrorObject403"]["properties"]["code"]
    codes = schema["components"]["schemas"][code["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(codes) == {"tenant_access_denied", "organization_suspended", "insufficient_scope",
                          "org_capability_required", "resource_access_denied", "csrf_failed",
                          "capability_required"}


def test_capability_refusals_are_documented_on_both_dialects(schema):
    paths = schema["paths"]
    assert "403" in paths["/api/plugin-gateway/services/register"]["post"]["responses"]
    assert "403" in paths["/api/v1/events"]["post"]["responses"]
    assert {"200", "201", "400", "403", "404"} <= set(paths["/api/v1/plugins/{plugin_id}/capabilities"]["post"]
                                                      ["responses"])
    assert {"204", "403", "404"} <= set(paths["/api/v1/plugins/{plugin_id}/capabilities/{capability}"]["delete"]
                                        ["responses"])
    gateway_error = schema["components"]["schemas"]["GatewayError"]["properties"]
    assert {"required_capability", "granted_capabilities", "required_scopes"} <= set(gateway_error)


def test_state_conflicts_and_preconditions_are_documented_where_they_happen(schema):
    paths = schema["paths"]
    assert "409" in paths["/api/plugin-gateway/services/register"]["post"]["responses"]
    assert "412" in paths["/api/plugin-gateway/shared-data"]["post"]["responses"]
    assert "412" in paths["/api/plugin-gateway/shared-data/{namespace}/{key}"]["delete"]["responses"]
    assert "412" not in paths["/api/plugin-gateway/shared-data/{namespace}/{key}"]["get"]["responses"]
    assert "409" in paths["/api/v1/plugins/{plugin_id}/install"]["post"]["responses"]


def test_the_gateway_call_documents_upstream_failures_and_passes_other_statuses_on(schema):
    responses = schema["paths"]["/api/plugin-gateway/call"]["post"]["responses"]
    assert {"404", "502", "503", "504", "default"} <= set(responses)
    either = schema["components"]["schemas"][_ref(responses["502"]).rsplit("/", 1)[1]]["oneOf"]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in either] == ["GatewayError", "CallResponse"]


def test_path_ids_carry_their_format(schema):
    parameters = {p["name"]: p["schema"] for _, _, operation in _operations(schema)
                  for p in operation.get("parameters", []) if p["in"] == "path"}
    assert parameters["config_object_id"]["pattern"] == "^cfo_[A-Za-z0-9]{22}$"
    assert parameters["plugin_id"]["pattern"] == "^plugin-[a-z0-9][a-z0-9-]*$"
    assert parameters["client_id"]["pattern"] == "^[A-Za-z0-9._:-]{1,100}$"
    assert all("pattern" in schema_ for name, schema_ in parameters.items() if name.endswith("_id"))


def test_an_id_of_the_wrong_format_is_a_404(api, org_key):
    assert api(org_key.token).get("/api/v1/config-objects/cfo_short").status_code == 404
    assert api(org_key.token).get("/api/v1/plugins/Plugin-CRM").status_code == 404


def test_request_bodies_are_closed_as_the_strict_serializers_are(schema):
    components = schema["components"]["schemas"]
    assert components["PluginInputRequest"]["additionalProperties"] is False
    assert components["RegisterServiceRequest"]["additionalProperties"] is False
