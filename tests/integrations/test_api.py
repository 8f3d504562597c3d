"""/api/v1/integrations through the API: definitions, instances and method execution against the real stub
provider on 127.0.0.1, with the seed's bodies, status codes, error format and headers."""

import pytest
from django.test import override_settings

from connectors.integrations.models import IntegrationDefinition, IntegrationExecution, IntegrationInstance
from plexica.events.models import Event
from tests.integrations.conftest import api_definition
from tests.integrations.provider import API_KEY, BASIC, Answer

pytestmark = pytest.mark.usefixtures("eager_executions")
BASE = "/api/v1/integrations"


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


def create_definition(client, body):
    answer = client.post(f"{BASE}/definitions", body, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def published(client, body):
    definition = create_definition(client, body)
    answer = client.post(f"{BASE}/definitions/{definition['id']}/publish")
    assert answer.status_code == 200, answer.json()
    return answer.json()


def connected_instance(client, provider, **overrides):
    definition = published(client, api_definition(provider, **overrides))
    answer = client.post(f"{BASE}/instances", {"integrationDefinitionId": definition["id"],
                                               "name": overrides.get("name", "Stub")}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def execute(client, instance_id, method, parameters, **query):
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return client.post(f"{BASE}/instances/{instance_id}/methods/{method}/execute{suffix}",
                       {"parameters": parameters}, format="json")


# Definitions


def test_a_definition_is_created_as_a_draft_and_listed_with_the_seeds_pagination(admin_api, provider):
    created = create_definition(admin_api, api_definition(provider))
    assert created["status"] == "DRAFT" and created["id"].startswith("idef_")
    assert created["methods"][0]["idempotent"] is True and created["methods"][1]["idempotent"] is False
    assert created["publishedAt"] is None and created["platform"] is False
    for n in range(2, 4):
        create_definition(admin_api, api_definition(provider, version=f"1.0.{n}"))
    answer = admin_api.get(f"{BASE}/definitions?limit=2&page=2").json()
    assert answer["pagination"] == {"page": 2, "limit": 2, "total": 3, "pages": 2}
    assert [item["version"] for item in answer["items"]] == ["1.0.3"]
    assert set(answer["items"][0]) == {"id", "name", "description", "version", "type", "authType", "status",
                                       "platform", "updatedAt"}
    assert admin_api.get(f"{BASE}/definitions?search=stub provider").json()["pagination"]["total"] == 3
    assert admin_api.get(f"{BASE}/definitions?status=PUBLISHED").json()["pagination"]["total"] == 0
    assert admin_api.get(f"{BASE}/definitions?type=grpc").json()["items"] == []


def test_a_bad_definition_lists_every_problem_with_its_json_pointer(admin_api, provider):
    body = api_definition(provider, version="one")
    body["methods"][0]["paramSchema"] = {"type": "objekt"}
    body["methods"][1]["request"]["path"] = "/things/{missing}"
    body["methods"][1]["rateLimits"] = {"requestsPerMinute": 0}
    body["configSchema"] = {"$ref": "https://example.com/schema.json"}
    answer = admin_api.post(f"{BASE}/definitions", body, format="json")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["requestId"]
    pointers = {problem["pointer"] for problem in error["details"]["errors"]}
    assert {"/version", "/methods/0/paramSchema/type", "/methods/1/request",
            "/methods/1/rateLimits/requestsPerMinute", "/configSchema/$ref"} <= pointers
    assert not IntegrationDefinition.objects.exists()


def test_duplicate_name_and_version_is_409(admin_api, provider):
    create_definition(admin_api, api_definition(provider))
    answer = admin_api.post(f"{BASE}/definitions", api_definition(provider), format="json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "CONFLICT"


def test_the_lifecycle_moves_one_way_and_a_published_definition_is_immutable(admin_api, provider):
    definition = create_definition(admin_api, api_definition(provider))
    path = f"{BASE}/definitions/{definition['id']}"
    assert admin_api.patch(path, {"description": "Changed"}, format="json").json()["description"] == "Changed"
    assert admin_api.post(f"{path}/deprecate").status_code == 409
    published_body = admin_api.post(f"{path}/publish").json()
    assert published_body["status"] == "PUBLISHED" and published_body["publishedAt"]
    answer = admin_api.patch(path, {"description": "Again"}, format="json")
    assert answer.status_code == 409 and "new version" in answer.json()["error"]["message"]
    assert admin_api.post(f"{path}/publish").json()["error"]["code"] == "INVALID_TRANSITION"
    assert admin_api.post(f"{path}/deprecate").json()["status"] == "DEPRECATED"
    assert admin_api.post(f"{path}/archive").json()["status"] == "ARCHIVED"
    assert admin_api.post(f"{path}/publish").status_code == 409


def test_deleting_a_definition_in_use_is_409_naming_the_instances(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    answer = admin_api.delete(f"{BASE}/definitions/{instance['integrationDefinitionId']}")
    assert answer.status_code == 409
    assert instance["id"] in answer.json()["error"]["message"]
    assert answer.json()["error"]["details"]["instances"] == [instance["id"]]
    assert admin_api.delete(f"{BASE}/instances/{instance['id']}").status_code == 204
    assert admin_api.delete(f"{BASE}/definitions/{instance['integrationDefinitionId']}").status_code == 204


def test_members_read_but_do_not_manage(api, member_key, admin_api, provider):
    definition = published(admin_api, api_definition(provider))
    member = api(member_key.token)
    assert member.get(f"{BASE}/definitions/{definition['id']}").status_code == 200
    answer = member.post(f"{BASE}/definitions", api_definition(provider, version="2.0.0"), format="json")
    assert answer.status_code == 403
    answer = member.post(f"{BASE}/instances", {"integrationDefinitionId": definition["id"], "name": "x"},
                         format="json")
    assert answer.status_code == 403


def test_definitions_instances_and_executions_of_another_organization_are_unknown(api, admin_api, other_org_key,
                                                                                  provider):
    instance = connected_instance(admin_api, provider)
    run = execute(admin_api, instance["id"], "getThing", {"id": "1"}).json()
    globex = api(other_org_key.token, tenant="globex")
    assert globex.get(f"{BASE}/definitions").json()["items"] == []
    assert globex.get(f"{BASE}/definitions/{instance['integrationDefinitionId']}").status_code == 404
    assert globex.get(f"{BASE}/instances").json()["items"] == []
    assert globex.get(f"{BASE}/instances/{instance['id']}").status_code == 404
    assert execute(globex, instance["id"], "getThing", {"id": "1"}).status_code == 404
    assert globex.get(f"{BASE}/instances/{instance['id']}/executions/{run['executionId']}").status_code == 404
    answer = globex.post(f"{BASE}/instances", {"integrationDefinitionId": instance["integrationDefinitionId"],
                                               "name": "steal"}, format="json")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "VALIDATION_ERROR"


def test_platform_definitions_are_offered_to_every_organization_once_published(api, client, superuser, org,
                                                                              other_org_key, provider, admin_api):
    from connectors.integrations import definitions
    from plexica.tenancy.principal import Principal

    root = Principal(organization=org, user=superuser, is_superuser=True)
    platform = definitions.create(root, platform=True, name="Shared", version="1.0.0",
                                  default_config={"baseUrl": provider.url})
    globex = api(other_org_key.token, tenant="globex")
    assert globex.get(f"{BASE}/definitions/{platform.pk}").status_code == 404  # a platform DRAFT is not offered
    definitions.transition(root, platform.pk, "PUBLISHED")
    listed = globex.get(f"{BASE}/definitions").json()["items"]
    assert [(item["id"], item["platform"]) for item in listed] == [(platform.pk, True)]
    assert globex.patch(f"{BASE}/definitions/{platform.pk}", {"description": "x"}, format="json").status_code == 403
    answer = admin_api.post(f"{BASE}/definitions", {**api_definition(provider), "platform": True}, format="json")
    assert answer.status_code == 403


def test_a_superuser_outside_any_organization_is_told_how_many_instances_use_a_platform_definition(
        api, superuser, org, other_org_key, provider, admin_api):
    from connectors.integrations import definitions
    from plexica.errors import Conflict
    from plexica.tenancy.principal import Principal

    root = Principal(organization=None, user=superuser, is_superuser=True)
    platform = definitions.create(Principal(organization=org, user=superuser, is_superuser=True), platform=True,
                                  name="Shared", version="1.0.0", default_config={"baseUrl": provider.url})
    definitions.transition(root, platform.pk, "PUBLISHED")
    for client, name in ((api(other_org_key.token, tenant="globex"), "Theirs"), (admin_api, "Ours")):
        answer = client.post(f"{BASE}/instances", {"integrationDefinitionId": platform.pk, "name": name},
                             format="json")
        assert answer.status_code == 201, answer.json()
    with pytest.raises(Conflict) as refused:
        definitions.delete(root, platform.pk)
    assert "in use by 2 instances in other organizations" in refused.value.message
    ours = IntegrationInstance.objects.get(name="Ours")
    with pytest.raises(Conflict) as refused:
        definitions.delete(Principal(organization=org, user=superuser, is_superuser=True), platform.pk)
    assert f"in use by {ours.pk} (Ours) and 1 instance in other organizations" in refused.value.message
    assert IntegrationDefinition.objects.filter(pk=platform.pk).exists()


# Instances


def test_instance_status_follows_config_and_credentials_and_every_change_is_an_event(admin_api, provider):
    body = api_definition(provider, authType="api_key", apiKeyConfig={"in": "header", "name": "X-Api-Key"},
                          configSchema={"type": "object", "required": ["baseUrl", "team"],
                                        "properties": {"team": {"type": "string"}}})
    body["methods"][0]["request"]["path"] = "/things/{id}"
    definition = published(admin_api, body)
    answer = admin_api.post(f"{BASE}/instances", {"integrationDefinitionId": definition["id"], "name": "Team"},
                            format="json")
    instance = answer.json()
    assert answer.status_code == 201 and instance["status"] == "PENDING_CONFIGURATION"
    assert "team" in instance["statusReason"]
    path = f"{BASE}/instances/{instance['id']}"
    assert admin_api.patch(path, {"config": {"team": "core"}}, format="json").json()["status"] == \
        "PENDING_AUTHENTICATION"
    assert execute(admin_api, instance["id"], "getThing", {"id": "1"}).json()["error"]["code"] == \
        "INSTANCE_NOT_CONNECTED"
    answer = admin_api.put(f"{path}/auth/credentials", {"username": "x", "password": "y"}, format="json")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "VALIDATION_ERROR"
    answer = admin_api.put(f"{path}/auth/credentials", {"apiKey": API_KEY}, format="json")
    assert answer.json()["status"] == "CONNECTED" and answer.json()["hasCredentials"] is True
    assert "apiKey" not in str(answer.json()) and API_KEY not in str(admin_api.get(path).json())
    stored = IntegrationInstance.objects.values_list("credentials", flat=True).get()
    assert stored == {"apiKey": API_KEY}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM connectors_integrationinstance")
        assert API_KEY not in cursor.fetchone()[0]
    result = execute(admin_api, instance["id"], "getThing", {"id": "7"})
    assert result.status_code == 200, result.json()
    assert result.json()["data"]["headers"]["X-Api-Key"] == API_KEY
    assert admin_api.post(f"{path}/disconnect").json()["status"] == "DISCONNECTED"
    transitions = [event.data["to"] for event in Event.objects.filter(type="integration_instance.status_changed")
                   .order_by("position")]
    assert transitions == ["PENDING_AUTHENTICATION", "CONNECTED", "DISCONNECTED"]
    assert admin_api.get(f"{BASE}/instances?status=DISCONNECTED").json()["pagination"]["total"] == 1
    assert admin_api.get(f"{BASE}/instances?definitionId={definition['id']}&search=tea").json()["items"][0]["id"] == \
        instance["id"]


def test_an_instance_that_needs_no_credentials_reconnects_with_an_empty_object(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    path = f"{BASE}/instances/{instance['id']}"
    assert instance["status"] == "CONNECTED"
    assert admin_api.post(f"{path}/disconnect").json()["status"] == "DISCONNECTED"
    assert execute(admin_api, instance["id"], "getThing", {"id": "1"}).json()["error"]["code"] == \
        "INSTANCE_NOT_CONNECTED"
    answer = admin_api.put(f"{path}/auth/credentials", {"apiKey": "x"}, format="json")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "VALIDATION_ERROR"
    assert answer.json()["error"]["details"]["errors"][0]["pointer"] == "/apiKey"
    assert admin_api.get(path).json()["status"] == "DISCONNECTED"
    answer = admin_api.put(f"{path}/auth/credentials", {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "CONNECTED"
    assert execute(admin_api, instance["id"], "getThing", {"id": "1"}).status_code == 200


def test_only_published_definitions_get_new_instances_deprecated_keep_working_archived_refuse(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    definition_id = instance["integrationDefinitionId"]
    admin_api.post(f"{BASE}/definitions/{definition_id}/deprecate")
    answer = admin_api.post(f"{BASE}/instances", {"integrationDefinitionId": definition_id, "name": "New"},
                            format="json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "DEFINITION_NOT_PUBLISHED"
    assert execute(admin_api, instance["id"], "getThing", {"id": "1"}).status_code == 200
    admin_api.post(f"{BASE}/definitions/{definition_id}/archive")
    answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 409 and "ARCHIVED" in answer.json()["error"]["message"]


# Execution


def test_execute_fills_the_request_and_answers_the_seeds_success_body(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    answer = execute(admin_api, instance["id"], "getThing", {"id": "a b/c", "limit": 5})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "SUCCESS" and body["data"]["path"] == "/public/things/a%20b%2Fc"
    assert body["data"]["query"] == {"limit": "5"}
    assert answer["X-RateLimit-Limit"] == "50" and answer["X-RateLimit-Remaining"] == "49"
    created = execute(admin_api, instance["id"], "createThing", {"thing": {"title": "Hi", "n": [1]}}).json()
    assert created["data"]["method"] == "POST" and created["data"]["body"] == {"title": "Hi", "n": [1]}
    record = IntegrationExecution.objects.get(pk=body["executionId"])
    assert (record.outcome, record.attempts, record.http_status) == ("SUCCESS", 1, 200)
    assert record.parameters is None and record.result is None  # no payloads kept by default
    assert record.actor_type == "key" and record.request_id and record.duration_ms is not None


def test_invalid_parameters_are_400_validation_error_with_each_pointer(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    answer = execute(admin_api, instance["id"], "createThing", {"thing": {"title": 5}, "extra": True})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert {"pointer": "/parameters/thing/title", "message": "5 is not of type 'string'"} in \
        error["details"]["errors"]
    assert not IntegrationExecution.objects.exists() and provider.api_calls() == []
    assert execute(admin_api, instance["id"], "noSuchMethod", {}).status_code == 404


def test_a_provider_error_is_integration_error_with_its_status_and_response(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    response = {"message": "Validation Failed",
                "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}]}
    provider.script("/public/things", Answer(422, body=response))
    answer = execute(admin_api, instance["id"], "createThing", {"thing": {"title": "x"}})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "INTEGRATION_ERROR"
    assert error["details"] == {"statusCode": 422, "response": response}
    assert error["requestId"] == IntegrationExecution.objects.get().request_id


def test_idempotent_methods_retry_5xx_and_429_but_others_do_not(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    provider.script("/public/things/1", Answer(503), Answer(429, {"Retry-After": "0"}))
    answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 200
    assert IntegrationExecution.objects.get().attempts == 3
    provider.script("/public/things", Answer(503, body={"message": "down"}))
    answer = execute(admin_api, instance["id"], "createThing", {"thing": {"title": "x"}})
    assert answer.status_code == 502 and answer.json()["error"]["details"]["statusCode"] == 503
    assert len(provider.api_calls("/public/things")) == 1


def test_a_provider_retry_after_longer_than_the_time_left_is_rate_limit_exceeded_at_once(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    provider.script("/public/things/1", Answer(429, {"Retry-After": "30"}, {"message": "slow down"}))
    answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED" and answer["Retry-After"] == "30"
    assert len(provider.api_calls("/public/things/1")) == 1


def test_the_methods_rate_limit_is_429_with_exact_headers(admin_api, provider):
    body = api_definition(provider)
    body["methods"][0]["rateLimits"] = {"requestsPerMinute": 2, "burstLimit": 2}
    instance = connected_instance(admin_api, provider, methods=body["methods"])
    remaining = [execute(admin_api, instance["id"], "getThing", {"id": "1"})["X-RateLimit-Remaining"]
                 for _ in range(2)]
    assert remaining == ["1", "0"]
    answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert answer["X-RateLimit-Limit"] == "2" and answer["X-RateLimit-Remaining"] == "0"
    assert 25 <= int(answer["Retry-After"]) <= 30
    assert len(provider.api_calls()) == 2


def test_a_slow_provider_is_a_504_execution_error_within_the_timeout(admin_api, provider):
    body = api_definition(provider)
    body["methods"][0]["timeoutMs"] = 300
    instance = connected_instance(admin_api, provider, methods=body["methods"])
    provider.script("/public/things/1", Answer(200, body={"path": "late"}, delay=1.0))
    answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 504 and answer.json()["error"]["code"] == "EXECUTION_ERROR"


def test_the_circuit_opens_after_repeated_failures_and_answers_503_circuit_open(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    for _ in range(5):
        provider.script("/public/things", Answer(500))
        assert execute(admin_api, instance["id"], "createThing", {"thing": {"title": "x"}}).status_code == 502
    answer = execute(admin_api, instance["id"], "createThing", {"thing": {"title": "x"}})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "CIRCUIT_OPEN"
    assert int(answer["Retry-After"]) >= 1
    assert len(provider.api_calls("/public/things")) == 5
    assert execute(admin_api, instance["id"], "getThing", {"id": "1"}).status_code == 200  # per method


def test_a_result_that_breaks_the_result_schema_warns_or_fails_per_the_definition(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    provider.script("/public/things/1", Answer(200, body={"other": 1}))
    answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 200
    assert answer.json()["warnings"][0]["code"] == "RESULT_SCHEMA_MISMATCH"
    strict = connected_instance(admin_api, provider, name="Strict", resultCheck="error")
    provider.script("/public/things/1", Answer(200, body={"other": 1}))
    answer = execute(admin_api, strict["id"], "getThing", {"id": "1"})
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "EXECUTION_ERROR"


def test_async_execution_answers_202_and_the_execution_resource_holds_the_outcome(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    answer = execute(admin_api, instance["id"], "getThing", {"id": "9"}, **{"async": "true"})
    assert answer.status_code == 202
    run = answer.json()
    assert run["id"].startswith("iexe_") and run["async"] is True
    detail = admin_api.get(f"{BASE}/instances/{instance['id']}/executions/{run['id']}").json()
    assert detail["status"] == "SUCCEEDED" and detail["result"]["data"]["path"] == "/public/things/9"
    listed = admin_api.get(f"{BASE}/instances/{instance['id']}/executions?status=SUCCEEDED").json()
    assert [item["id"] for item in listed["items"]] == [run["id"]]


def test_a_base_url_outside_the_network_policy_is_refused_at_connect_time(admin_api, provider):
    instance = connected_instance(admin_api, provider)
    with override_settings(INTEGRATION_ALLOWED_NETWORKS=[]):
        answer = execute(admin_api, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "EXECUTION_ERROR"
    assert "network policy" in answer.json()["error"]["message"]
    assert provider.api_calls() == []
    assert admin_api.get(f"{BASE}/instances/{instance['id']}").json()["status"] == "CONFIG_ERROR"


def test_the_apis_own_limits_are_per_key_reads_and_writes(admin_api, provider):
    with override_settings(INTEGRATION_API_READS_PER_MINUTE=2):
        answers = [admin_api.get(f"{BASE}/definitions") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0]["X-RateLimit-Limit"] == "2" and answers[1]["X-RateLimit-Remaining"] == "0"
    assert answers[2].json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"


# Credentials on the wire


def credentialed_instance(client, provider, auth_type, credentials, **overrides):
    body = api_definition(provider, authType=auth_type, name=f"Stub {auth_type}", **overrides)
    body["methods"][0]["request"]["path"] = "/things/{id}"  # the stub's authenticated API
    definition = published(client, body)
    name = f"{auth_type} {definition['version']}"
    instance = client.post(f"{BASE}/instances", {"integrationDefinitionId": definition["id"], "name": name},
                           format="json").json()
    answer = client.put(f"{BASE}/instances/{instance['id']}/auth/credentials", credentials, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "CONNECTED", answer.json()
    return instance


def test_an_api_key_goes_where_the_definition_says_and_basic_credentials_as_basic_auth(admin_api, provider):
    in_query = credentialed_instance(admin_api, provider, "api_key", {"apiKey": API_KEY},
                                     apiKeyConfig={"in": "query", "name": "api_key"})
    answer = execute(admin_api, in_query["id"], "getThing", {"id": "q"})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["data"]["query"] == {"api_key": API_KEY}
    prefixed = credentialed_instance(admin_api, provider, "api_key", {"apiKey": API_KEY}, version="1.0.1",
                                     apiKeyConfig={"in": "header", "name": "Authorization", "prefix": "Key "})
    answer = execute(admin_api, prefixed["id"], "getThing", {"id": "h"})
    assert answer.json()["data"]["headers"]["Authorization"] == f"Key {API_KEY}"
    basic = credentialed_instance(admin_api, provider, "basic", {"username": BASIC[0], "password": BASIC[1]})
    answer = execute(admin_api, basic["id"], "getThing", {"id": "b"})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["data"]["headers"]["Authorization"].startswith("Basic ")


def test_credentials_the_provider_refuses_are_auth_error_with_its_answer(admin_api, provider):
    instance = credentialed_instance(admin_api, provider, "api_key", {"apiKey": "not-the-key"},
                                     apiKeyConfig={"in": "header", "name": "X-Api-Key"})
    answer = execute(admin_api, instance["id"], "getThing", {"id": "x"})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "AUTH_ERROR"
    assert error["details"] == {"statusCode": 401, "response": {"message": "Bad credentials"}}
    assert len(provider.api_calls("/things/x")) == 1  # a refusal is not retried
    assert IntegrationExecution.objects.get().outcome == "AUTH_ERROR"


# Who executes: members need the editor role on the instance


def test_a_member_executes_an_instances_methods_only_with_the_editor_role_on_it(api, admin_api, member, member_key,
                                                                                plugin_key, provider):
    instance = connected_instance(admin_api, provider)
    grants = f"{BASE}/instances/{instance['id']}/grants"
    mia = api(member_key.token)
    refused = execute(mia, instance["id"], "getThing", {"id": "1"})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "RESOURCE_ACCESS_DENIED"
    assert error["message"] == (f"Executing the methods of the integration instance {instance['id']} needs the "
                                "editor role on it; you have no access to this integration instance.")
    assert error["details"] == {"resourceType": "integration_instance", "resourceId": instance["id"],
                                "requiredRole": "editor", "role": None}
    assert mia.get(f"{BASE}/instances/{instance['id']}").status_code == 200  # reading needs no grant
    assert execute(api(plugin_key.token), instance["id"], "getThing", {"id": "1"}).status_code == 200
    assert not IntegrationExecution.objects.filter(actor_type="member").exists()

    viewer = admin_api.post(grants, {"orgMembershipId": member.pk, "role": "viewer"}, format="json")
    assert viewer.status_code == 201, viewer.json()
    assert viewer.json()["item"]["resourceType"] == "integration_instance"
    refused = execute(mia, instance["id"], "getThing", {"id": "1"}).json()["error"]
    assert refused["details"]["role"] == "viewer" and refused["message"].endswith("; you are viewer.")

    assert admin_api.post(grants, {"orgMembershipId": member.pk, "role": "editor"}, format="json").status_code == 200
    answer = execute(mia, instance["id"], "getThing", {"id": "1"})
    assert answer.status_code == 200 and answer.json()["data"]["path"] == "/public/things/1"
    run = IntegrationExecution.objects.get(pk=answer.json()["executionId"])
    assert (run.actor_type, run.actor_id) == ("member", "mia")

    assert admin_api.delete(f"{grants}/{viewer.json()['item']['id']}").status_code == 204
    assert execute(mia, instance["id"], "getThing", {"id": "1"}).status_code == 403


def test_an_organization_wide_editor_grant_lets_every_member_execute_and_members_cannot_share(api, admin_api,
                                                                                              member_key, provider):
    instance = connected_instance(admin_api, provider)
    grants = f"{BASE}/instances/{instance['id']}/grants"
    mia = api(member_key.token)
    answer = mia.post(grants, {"orgWide": True, "role": "editor"}, format="json")
    assert answer.status_code == 403 and answer.json()["error"]["details"]["requiredRole"] == "manager"
    assert mia.get(grants).status_code == 403
    assert admin_api.post(grants, {"orgWide": True, "role": "editor"}, format="json").status_code == 201
    assert [grant["orgWide"] for grant in admin_api.get(grants).json()["items"]] == [True]
    assert execute(mia, instance["id"], "getThing", {"id": "1"}).status_code == 200


def test_the_grants_of_another_organizations_instance_are_unknown_and_a_deleted_instance_takes_its_grants(
        api, admin_api, other_org_key, provider):
    from plexica.access.models import AccessGrant

    instance = connected_instance(admin_api, provider)
    grants = f"{BASE}/instances/{instance['id']}/grants"
    assert admin_api.post(grants, {"orgWide": True, "role": "editor"}, format="json").status_code == 201
    globex = api(other_org_key.token, tenant="globex")
    assert globex.get(grants).status_code == 404
    assert globex.post(grants, {"orgWide": True, "role": "editor"}, format="json").status_code == 404
    assert admin_api.delete(f"{BASE}/instances/{instance['id']}").status_code == 204
    grant = AccessGrant.objects.get(resource_id=instance["id"])
    assert grant.revoked_at is not None
