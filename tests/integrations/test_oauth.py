"""OAuth2 instances against the real stub authorization server on 127.0.0.1: the authorization code grant
with PKCE through the API, refused states, proactive and 401-driven refreshes made once however many
executions race, AUTH_ERROR on a refused refresh, transient failures retried, client credentials, and the
network policy on the token URL."""

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
import urllib3
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from connectors.integrations import oauth
from connectors.integrations.errors import AuthFailed, ExecutionFailed
from connectors.integrations.models import IntegrationInstance, OAuthState
from plexica.events.models import Event
from tests.concurrency import run_together
from tests.integrations.conftest import api_definition
from tests.integrations.provider import CLIENT_ID, CLIENT_SECRET, Answer, s256
from tests.integrations.test_api import BASE, execute, published

pytestmark = pytest.mark.usefixtures("eager_executions")
REDIRECT = "https://app.example.com/oauth/callback"


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


def oauth_definition(provider, *, grant="authorization_code", **overrides):
    body = api_definition(provider, authType="oauth2", **overrides)
    body["oauth2Config"] = {"authorizationUrl": f"{provider.url}/oauth/authorize", "tokenUrl": f"{provider.url}/oauth/token",
                            "scope": "things:read things:write", "grant": grant}
    body["oauthClientId"] = CLIENT_ID
    body["oauthClientSecret"] = CLIENT_SECRET
    body["methods"][0]["request"]["path"] = "/things/{id}"  # the stub's authenticated API
    return body


def new_instance(client, provider, name="Stub OAuth", **overrides):
    definition = published(client, oauth_definition(provider, **overrides))
    answer = client.post(f"{BASE}/instances", {"integrationDefinitionId": definition["id"], "name": name},
                         format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def authorize(authorization_url):
    """What the user's browser does: follow the authorization URL, consent, come back with code and state."""
    answer = urllib3.request("GET", authorization_url, redirect=False)
    assert answer.status == 302, answer.data
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    return query["code"][0], query["state"][0]


def connect(client, instance_id):
    started = client.post(f"{BASE}/instances/{instance_id}/auth/oauth2/start", {"redirectUri": REDIRECT},
                          format="json")
    assert started.status_code == 200, started.json()
    code, state = authorize(started.json()["authorizationUrl"])
    answer = client.post(f"{BASE}/instances/{instance_id}/auth/oauth2/callback", {"code": code, "state": state},
                         format="json")
    assert answer.status_code == 200, answer.json()
    return answer.json()


def test_the_authorization_code_flow_with_pkce_connects_the_instance(admin_api, provider):
    instance = new_instance(admin_api, provider)
    assert instance["status"] == "PENDING_AUTHENTICATION"
    started = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    query = parse_qs(urlsplit(started["authorizationUrl"]).query)
    assert started["authorizationUrl"].startswith(f"{provider.url}/oauth/authorize?")
    assert query["client_id"] == [CLIENT_ID] and query["redirect_uri"] == [REDIRECT]
    assert query["response_type"] == ["code"] and query["state"] == [started["state"]]
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["things:read things:write"]
    stored = OAuthState.objects.get()
    assert stored.state_hash != started["state"] and query["code_challenge"] == [s256(stored.code_verifier)]

    code, state = authorize(started["authorizationUrl"])
    answer = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/callback", {"code": code, "state": state},
                            format="json")
    assert answer.status_code == 200 and answer.json() == {"status": "SUCCESS", "integrationInstanceId": instance["id"]}
    assert provider.token_requests["authorization_code"] == 1
    row = IntegrationInstance.objects.get(pk=instance["id"])
    assert row.status == "CONNECTED" and row.credentials["refreshToken"].startswith("rt_")
    assert row.token_expires_at > timezone.now() + timedelta(minutes=59)
    shown = admin_api.get(f"{BASE}/instances/{instance['id']}").json()
    assert shown["status"] == "CONNECTED" and "rt_" not in str(shown) and "at_" not in str(shown)
    assert not OAuthState.objects.exists()

    executed = execute(admin_api, instance["id"], "getThing", {"id": "t1"})
    assert executed.status_code == 200, executed.json()
    assert executed.json()["data"]["headers"]["Authorization"] == f"Bearer {row.credentials['accessToken']}"
    assert Event.objects.filter(type="integration_instance.status_changed", data__to="CONNECTED").exists()


def test_a_replayed_state_is_refused_and_the_code_is_not_exchanged_twice(admin_api, provider):
    instance = new_instance(admin_api, provider)
    started = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    code, state = authorize(started["authorizationUrl"])
    url = f"{BASE}/instances/{instance['id']}/auth/oauth2/callback"
    assert admin_api.post(url, {"code": code, "state": state}, format="json").status_code == 200
    replay = admin_api.post(url, {"code": code, "state": state}, format="json")
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "VALIDATION_ERROR" and "state" in replay.json()["error"]["message"]
    assert provider.token_requests["authorization_code"] == 1


def test_an_expired_state_is_refused(admin_api, provider):
    instance = new_instance(admin_api, provider)
    started = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    code, state = authorize(started["authorizationUrl"])
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        answer = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/callback",
                                {"code": code, "state": state}, format="json")
    assert answer.status_code == 400 and answer.json()["error"]["details"]["field"] == "state"
    assert provider.token_requests["authorization_code"] == 0
    assert IntegrationInstance.objects.get(pk=instance["id"]).status == "PENDING_AUTHENTICATION"


def test_a_state_of_another_instance_or_organization_is_refused(admin_api, api, other_org_key, provider):
    first = new_instance(admin_api, provider, name="First")
    second = admin_api.post(f"{BASE}/instances", {"integrationDefinitionId": first["integrationDefinitionId"],
                                                  "name": "Second"}, format="json").json()
    started = admin_api.post(f"{BASE}/instances/{first['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    code, state = authorize(started["authorizationUrl"])
    foreign = admin_api.post(f"{BASE}/instances/{second['id']}/auth/oauth2/callback", {"code": code, "state": state},
                             format="json")
    assert foreign.status_code == 400
    other = api(other_org_key.token, tenant="globex")
    assert other.post(f"{BASE}/instances/{first['id']}/auth/oauth2/callback", {"code": code, "state": state},
                      format="json").status_code == 404
    # The refusals did not use the state up: its own instance still completes.
    assert admin_api.post(f"{BASE}/instances/{first['id']}/auth/oauth2/callback", {"code": code, "state": state},
                          format="json").status_code == 200


def test_members_cannot_connect_and_bad_redirect_uris_are_named(admin_api, api, member_key, provider):
    instance = new_instance(admin_api, provider)
    member = api(member_key.token)
    refused = member.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                          format="json")
    assert refused.status_code == 403
    for bad in ("javascript:alert(1)", "/relative", "https://app.example.com/cb#fragment"):
        answer = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": bad},
                                format="json")
        assert answer.status_code == 400 and answer.json()["error"]["details"]["field"] == "redirectUri", bad
    assert not OAuthState.objects.exists()


def test_a_refused_code_is_an_auth_error_with_the_providers_answer(admin_api, provider):
    instance = new_instance(admin_api, provider)
    started = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    _code, state = authorize(started["authorizationUrl"])
    answer = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/callback",
                            {"code": "code_made_up", "state": state}, format="json")
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "AUTH_ERROR" and error["details"]["response"]["error"] == "invalid_grant"
    assert IntegrationInstance.objects.get(pk=instance["id"]).status == "PENDING_AUTHENTICATION"


# Refreshes


def expiring(instance_id, seconds_left=30):
    """Make the stored token due for its proactive refresh (as if issued an hour ago)."""
    row = IntegrationInstance.objects.get(pk=instance_id)
    row.token_expires_at = timezone.now() + timedelta(seconds=seconds_left)
    row.save(update_fields=["token_expires_at"])
    return row


def test_a_token_is_refreshed_ahead_of_its_expiry_and_not_on_every_call(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    for _ in range(3):
        assert execute(admin_api, instance["id"], "getThing", {"id": "t1"}).status_code == 200
    assert provider.token_requests["refresh_token"] == 0
    # Due at expiry - min(15 minutes, half the lifetime): a 1-hour token 15 minutes before it expires.
    row = IntegrationInstance.objects.get(pk=instance["id"])
    assert oauth.refresh_due_at(row) == pytest.approx(row.token_expires_at.timestamp() - 900)
    old = row.credentials
    expiring(instance["id"], seconds_left=14 * 60)
    assert execute(admin_api, instance["id"], "getThing", {"id": "t1"}).status_code == 200
    assert provider.token_requests["refresh_token"] == 1
    row.refresh_from_db()
    assert row.credentials["accessToken"] != old["accessToken"] and row.credentials["refreshToken"] != old["refreshToken"]


def test_a_short_token_is_refreshed_at_half_its_lifetime(admin_api, provider):
    provider.token_lifetime = 600
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    row = IntegrationInstance.objects.get(pk=instance["id"])
    assert oauth.refresh_due_at(row) == pytest.approx(row.token_expires_at.timestamp() - 300)


def test_a_401_refreshes_once_and_retries_with_the_new_token(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    row = IntegrationInstance.objects.get(pk=instance["id"])
    with provider.lock:
        provider.access_tokens.pop(row.credentials["accessToken"])  # revoked early, at the provider
    answer = execute(admin_api, instance["id"], "getThing", {"id": "t1"})
    assert answer.status_code == 200, answer.json()
    assert provider.token_requests["refresh_token"] == 1
    assert [call[2]["Authorization"] for call in provider.api_calls("/things/t1")][-2:] == [
        f"Bearer {row.credentials['accessToken']}",
        f"Bearer {IntegrationInstance.objects.get(pk=instance['id']).credentials['accessToken']}"]


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(admin_api, provider):
    provider.rotate_refresh_tokens = False
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    old = expiring(instance["id"]).credentials["refreshToken"]
    assert execute(admin_api, instance["id"], "getThing", {"id": "t1"}).status_code == 200
    assert IntegrationInstance.objects.get(pk=instance["id"]).credentials["refreshToken"] == old


def test_a_refused_refresh_moves_the_instance_to_auth_error(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    expiring(instance["id"])
    provider.refuse_refresh = True
    answer = execute(admin_api, instance["id"], "getThing", {"id": "t1"})
    assert answer.status_code == 409, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "AUTH_ERROR" and error["details"]["instanceStatus"] == "AUTH_ERROR"
    row = IntegrationInstance.objects.get(pk=instance["id"])
    assert row.status == "AUTH_ERROR" and "invalid_grant" in row.status_reason
    assert Event.objects.filter(type="integration_instance.status_changed", data__to="AUTH_ERROR").exists()
    # Until reconnected, executions are refused without asking the provider again.
    again = execute(admin_api, instance["id"], "getThing", {"id": "t1"})
    assert again.status_code == 409 and provider.token_requests["refresh_token"] == 1
    provider.refuse_refresh = False
    connect(admin_api, instance["id"])
    assert IntegrationInstance.objects.get(pk=instance["id"]).status == "CONNECTED"


def test_a_transient_token_failure_is_retried(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    expiring(instance["id"])
    provider.token_failures = 2
    answer = execute(admin_api, instance["id"], "getThing", {"id": "t1"})
    assert answer.status_code == 200, answer.json()
    assert provider.token_requests["refresh_token"] == 3
    assert IntegrationInstance.objects.get(pk=instance["id"]).status == "CONNECTED"


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_executions_on_an_expiring_token_make_one_token_request(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    expiring(instance["id"])
    provider.token_delay = 0.3  # every racer arrives while the one refresh is in flight
    rows = [IntegrationInstance.objects.select_related("definition").get(pk=instance["id"]) for _ in range(50)]

    def job(row):
        return lambda: oauth.access_token(row, deadline=time.time() + 10)

    tokens = run_together(*(job(row) for row in rows))
    connection.close()
    assert provider.token_requests["refresh_token"] == 1
    fresh = IntegrationInstance.objects.get(pk=instance["id"]).credentials["accessToken"]
    assert set(tokens) == {fresh}


@pytest.mark.requires_redis
def test_the_refresh_lock_is_shared_through_redis(admin_api, provider):
    from django_redis import get_redis_connection

    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    row = expiring(instance["id"])
    other_process = get_redis_connection("default").lock(oauth.LOCK_KEY.format(row.pk), timeout=5)
    assert other_process.acquire(blocking=False)
    try:
        with pytest.raises(ExecutionFailed) as waited:
            oauth.access_token(row, deadline=time.time() + 0.3)
        assert waited.value.status == 504 and provider.token_requests["refresh_token"] == 0
    finally:
        other_process.release()
    oauth.access_token(row, deadline=time.time() + 5)
    assert provider.token_requests["refresh_token"] == 1


# Client credentials, client apps and the network policy


def test_the_client_credentials_grant_connects_with_an_empty_credentials_body(admin_api, provider):
    instance = new_instance(admin_api, provider, grant="client_credentials")
    start = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                           format="json")
    assert start.status_code == 409
    refused = admin_api.put(f"{BASE}/instances/{instance['id']}/auth/credentials", {"apiKey": "x"}, format="json")
    assert refused.status_code == 400
    answer = admin_api.put(f"{BASE}/instances/{instance['id']}/auth/credentials", {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "CONNECTED"
    assert provider.token_requests["client_credentials"] == 1
    assert execute(admin_api, instance["id"], "getThing", {"id": "t1"}).status_code == 200
    expiring(instance["id"])
    assert execute(admin_api, instance["id"], "getThing", {"id": "t1"}).status_code == 200
    assert provider.token_requests["client_credentials"] == 2


def test_the_instances_own_oauth_app_is_used_before_the_definitions(admin_api, provider):
    provider.clients["org-own-app"] = "org-own-secret"
    instance = new_instance(admin_api, provider)
    admin_api.patch(f"{BASE}/instances/{instance['id']}", {"config": {"clientId": "org-own-app",
                                                                      "clientSecret": "org-own-secret"}},
                    format="json")
    started = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    assert parse_qs(urlsplit(started["authorizationUrl"]).query)["client_id"] == ["org-own-app"]
    code, state = authorize(started["authorizationUrl"])
    assert admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/callback", {"code": code, "state": state},
                          format="json").status_code == 200
    shown = admin_api.get(f"{BASE}/instances/{instance['id']}").json()
    assert shown["config"]["clientSecret"] == "********"


def test_a_token_url_outside_the_network_policy_is_never_called(admin_api, provider):
    instance = new_instance(admin_api, provider)
    started = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                             format="json").json()
    code, state = authorize(started["authorizationUrl"])
    with override_settings(INTEGRATION_ALLOWED_NETWORKS=[]):
        answer = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/callback",
                                {"code": code, "state": state}, format="json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "AUTH_ERROR"
    assert "network policy" in answer.json()["error"]["message"]
    assert provider.token_requests["authorization_code"] == 0


def test_access_token_refuses_an_instance_in_auth_error_without_a_token_request(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    row = IntegrationInstance.objects.select_related("definition").get(pk=instance["id"])
    row.status = "AUTH_ERROR"
    row.save(update_fields=["status"])
    with pytest.raises(AuthFailed):
        oauth.access_token(row, force_refresh=True, stale_token=row.credentials["accessToken"])
    assert provider.token_requests["refresh_token"] == 0


def test_an_authorization_url_outside_the_network_policy_is_refused_at_start(admin_api, provider):
    instance = new_instance(admin_api, provider)
    with override_settings(INTEGRATION_ALLOWED_NETWORKS=[]):
        answer = admin_api.post(f"{BASE}/instances/{instance['id']}/auth/oauth2/start", {"redirectUri": REDIRECT},
                                format="json")
    assert answer.status_code == 409 and "network policy" in answer.json()["error"]["message"]
    assert not OAuthState.objects.exists()


def test_a_401_after_the_refresh_is_auth_error(admin_api, provider):
    instance = new_instance(admin_api, provider)
    connect(admin_api, instance["id"])
    provider.script("/things/t1", Answer(401, body={"message": "token revoked"}),
                    Answer(401, body={"message": "still revoked"}))
    answer = execute(admin_api, instance["id"], "getThing", {"id": "t1"})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "AUTH_ERROR" and "after a token refresh" in error["message"]
    assert error["details"] == {"statusCode": 401, "response": {"message": "still revoked"}}
    assert provider.token_requests["refresh_token"] == 1
