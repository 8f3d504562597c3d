"""Every API error is JSON in its surface's dialect, with the request id; never an HTML page."""

import pytest
from django.test import override_settings
from django.urls import path

from plexica.api.views import TenantAPIView
from plexica.urls import urlpatterns as project_urlpatterns


class Explodes(TenantAPIView):
    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [path("api/v1/explodes", Explodes.as_view()), *project_urlpatterns]


def test_request_id_is_echoed_when_sane(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-123.abc")
    assert response["X-Request-ID"] == "trace-123.abc"


def test_request_id_is_generated_when_absent_or_insane(client):
    generated = client.get("/healthz")["X-Request-ID"]
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")["X-Request-ID"]
    assert len(generated) == 32 and len(replaced) == 32 and generated != replaced


def test_error_body_carries_the_request_id(api, org):
    response = api(None).get("/api/v1/me", HTTP_X_REQUEST_ID="req-42")
    assert response.json()["error"]["requestId"] == "req-42"
    assert response["X-Request-ID"] == "req-42"


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_path_is_json_404_even_in_debug(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(api, org_key):
    response = api(org_key.token).delete("/api/v1/me")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_400_and_changes_nothing(api, org_key):
    from plexica.tenancy.models import ApiKey

    before = ApiKey.objects.count()
    response = api(org_key.token).post("/api/v1/api-keys", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert ApiKey.objects.count() == before


def test_non_json_body_is_415(api, org_key):
    response = api(org_key.token).post("/api/v1/api-keys", "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_oversized_body_is_413(api, org_key):
    body = '{"name": "' + "x" * 4096 + '"}'
    response = api(org_key.token).post("/api/v1/api-keys", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_validation_error_names_the_field(api, org_key):
    response = api(org_key.token).post("/api/v1/api-keys", {"scopes": ["root"]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "Missing required field: name"
    assert set(error["details"]) == {"name", "scopes"}


@pytest.mark.urls("tests.api.test_errors")
def test_unexpected_exception_is_json_500_without_internals(api, org_key, settings):
    settings.DEBUG = True  # even the debug page must not show on an API path
    client = api(org_key.token)
    client.raise_request_exception = False
    response = client.get("/api/v1/explodes")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "boom" not in response.content.decode()


def test_non_api_404_is_still_a_page(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_a_request_body_nested_too_deeply_is_a_400_not_a_crash(api, org_key):
    body = ('{"type": "mcp", "input": {"normalizedPayloadJson": ' + "[" * 100_000 + "]" * 100_000 + "}}").encode()
    response = api(org_key.token).post("/api/v1/config-objects", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", [
    "/api/v1/config-objects/cfo_a%00b", "/api/v1/plugins/plugin-a%00b", "/api/v1/marketplaces/mkt_%00",
    "/api/v1/connector-targets/ctg_%00", "/api/v1/plugins/plugin-crm/releases/rel_%00",
    "/api/v1/delivery/config-objects/cfo_%00/download", "/api/plugin-gateway/shared-data/ns%00/key",
])
def test_a_nul_character_in_an_id_is_a_404_on_every_backend(api, org_key, crm_plugin, path):
    response = api(org_key.token).get(path)
    assert response.status_code == 404, response.content
    assert "NUL" in str(response.json())


def test_a_nul_character_in_a_query_parameter_is_a_400_naming_it(api, org_key, crm_plugin):
    response = api(org_key.token).get("/api/v1/delivery/plugins/plugin-crm/manifest", {"release": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"release": "A NUL character is not accepted here."}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/config-objects", {"type": "context", "input": {"rawSourceText": "x", "metadata": {"k": "a\x00b"}}}),
    ("/api/plugin-gateway/shared-data", {"namespace": "crm.cache", "key": "k", "value": {"v": "\x00"},
                                         "ownerId": "plugin-crm"}),
])
def test_a_nul_character_in_a_json_body_is_a_400_not_a_database_error(api, org_key, crm_plugin, path, body):
    response = api(org_key.token).post(path, body, format="json")
    assert response.status_code == 400
    assert "NUL character" in str(response.json())


@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb", "\\u0000"])
def test_text_no_database_can_store_is_a_400_wherever_it_sits_in_the_body(api, org_key, crm_plugin, text):
    raw = ('{"namespace": "crm.cache", "key": "k", "ownerId": "plugin-crm", "value": {"deep": ["%s"]}}' % text)
    response = api(org_key.token).post("/api/plugin-gateway/shared-data", raw.encode(),
                                       content_type="application/json")
    assert response.status_code == 400, response.content
    assert "not accepted" in str(response.json())



def test_a_number_too_large_for_a_double_is_a_400_not_infinity_in_a_json_column(api, org_key):
    raw = b'{"type": "context", "input": {"rawSourceText": "x", "metadata": {"n": 1e999}}}'
    response = api(org_key.token).post("/api/v1/config-objects", raw, content_type="application/json")
    assert response.status_code == 400
    assert "the number 1e999 is too large" in response.json()["error"]["message"]
