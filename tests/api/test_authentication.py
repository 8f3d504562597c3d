from datetime import timedelta

import pytest
from django.utils import timezone

from plexica.tenancy.models import ApiKey, Organization
from plexica.tenancy.services import hash_token, issue_api_key, revoke_api_keys

ME = "/api/v1/me"
GATEWAY = "/api/plugin-gateway/whoami"


# --- The order of checks, in the /api/v1/ dialect -------------------------------------------------


def test_missing_tenant_header_is_401_before_anything_else(api, org_key):
    response = api(org_key.token, tenant=None).get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "tenant_header_required"
    assert response.json()["error"]["message"] == "X-Tenant-Slug header required"


def test_missing_tenant_header_wins_over_a_bad_key(api, db):
    response = api("plx_not-a-real-key", tenant=None).get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "tenant_header_required"


def test_no_credential_is_401_with_www_authenticate(api, org):
    response = api(None).get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "authentication_required"
    assert "Bearer" in response.json()["error"]["message"]


@pytest.mark.parametrize("token", ["plx_unknown", "not-even-our-format", "plx_" + "a" * 43])
def test_unknown_key_is_401(api, org, token):
    response = api(token).get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_non_bearer_authorization_scheme_is_401(api, org_key):
    client = api(None)
    client.credentials(HTTP_X_TENANT_SLUG="acme-corp", HTTP_AUTHORIZATION=f"Token {org_key.token}")
    assert client.get(ME).status_code == 401


def test_revoked_key_is_401_at_once_even_after_its_lookup_was_cached(api, org_key):
    assert api(org_key.token).get(ME).status_code == 200
    revoke_api_keys(ApiKey.objects.filter(pk=org_key.key.pk))
    response = api(org_key.token).get(ME)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_expired_key_is_401_and_a_key_before_its_expiry_works(api, org, time_machine):
    soon = timezone.now() + timedelta(minutes=5)
    key, token = issue_api_key(org, name="short-lived", expires_at=soon)
    assert api(token).get(ME).status_code == 200
    time_machine.move_to(soon + timedelta(seconds=1))
    assert api(token).get(ME).status_code == 401


def test_shortening_a_keys_expiry_takes_effect_at_once(api, org_key):
    assert api(org_key.token).get(ME).status_code == 200
    org_key.key.expires_at = timezone.now() - timedelta(seconds=1)
    org_key.key.save()
    assert api(org_key.token).get(ME).status_code == 401


def test_key_of_another_org_is_403(api, org, other_org_key):
    response = api(other_org_key.token, tenant="acme-corp").get(ME)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_access_denied"


def test_unknown_slug_answers_the_same_403_as_a_foreign_one(api, org_key, other_org):
    foreign = api(org_key.token, tenant="globex").get(ME)
    unknown = api(org_key.token, tenant="no-such-org").get(ME)
    assert foreign.status_code == unknown.status_code == 403
    assert foreign.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_suspended_org_is_403_at_once(api, org, org_key):
    assert api(org_key.token).get(ME).status_code == 200
    org.status = Organization.Status.SUSPENDED
    org.save()
    response = api(org_key.token).get(ME)
    assert response.status_code == 403
    assert "suspended" in response.json()["error"]["message"]


# --- Who the caller is ---------------------------------------------------------------------------


def test_org_key_acts_as_org_admin(api, org_key):
    principal = api(org_key.token).get(ME).json()["item"]["principal"]
    assert principal["kind"] == "organization"
    assert principal["isOrgAdmin"] is True


def test_plugin_key_acts_as_its_plugin(api, plugin_key):
    item = api(plugin_key.token).get(ME).json()["item"]
    assert item["organization"]["slug"] == "acme-corp"
    assert item["principal"]["kind"] == "plugin"
    assert item["principal"]["pluginId"] == "plugin-crm"
    assert item["principal"]["isOrgAdmin"] is False


def test_member_key_acts_as_its_member(api, member_key):
    principal = api(member_key.token).get(ME).json()["item"]["principal"]
    assert principal == {
        "kind": "member",
        "apiKeyId": member_key.key.pk,
        "pluginId": None,
        "username": "mia",
        "orgMembershipId": member_key.key.membership_id,
        "role": "member",
        "isOrgAdmin": False,
        "scopes": ["gateway", "api:read", "api:write", "events:emit", "events:subscribe"],
    }


def test_member_key_stops_working_when_the_user_is_deactivated(api, member_key, member):
    assert api(member_key.token).get(ME).status_code == 200
    member.user.is_active = False
    member.user.save()
    assert api(member_key.token).get(ME).status_code == 401


def test_admin_session_of_a_member_works(client, org_admin):
    client.force_login(org_admin.user)
    response = client.get(ME, HTTP_X_TENANT_SLUG="acme-corp")
    assert response.status_code == 200
    assert response.json()["item"]["principal"]["username"] == "ada"


def test_admin_session_of_a_non_member_is_403(client, org_admin, other_org):
    client.force_login(org_admin.user)
    assert client.get(ME, HTTP_X_TENANT_SLUG="globex").status_code == 403


def test_superuser_session_reaches_any_org_but_not_an_unknown_one(client, django_user_model, org, other_org):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-long-enough-1")
    client.force_login(root)
    assert client.get(ME, HTTP_X_TENANT_SLUG="globex").json()["item"]["principal"]["kind"] == "superuser"
    assert client.get(ME, HTTP_X_TENANT_SLUG="no-such-org").status_code == 403


# --- Scopes -------------------------------------------------------------------------------------


def test_read_only_key_can_read_but_not_write(api, org):
    _, token = issue_api_key(org, name="reader", scopes=[ApiKey.Scope.API_READ])
    client = api(token)
    assert client.get("/api/v1/api-keys").status_code == 200
    response = client.post("/api/v1/api-keys", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "api:write" in response.json()["error"]["message"]
    assert ApiKey.objects.filter(name="x").count() == 0


def test_gateway_only_key_cannot_use_the_admin_api(api, org):
    _, token = issue_api_key(org, name="gateway only", scopes=[ApiKey.Scope.GATEWAY])
    assert api(token).get(ME).status_code == 403


# --- Storage of keys ----------------------------------------------------------------------------


def test_only_the_sha256_of_a_token_is_stored(org):
    key, token = issue_api_key(org, name="hashed")
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert row["key_hash"] == hash_token(token)
    assert all(token not in str(value) for value in row.values())
    assert row["prefix"] == token[:12] and len(token) > 40


def test_last_used_is_written_at_most_once_per_minute(api, org_key, django_assert_num_queries):
    client = api(org_key.token)
    client.get(ME)
    first = ApiKey.objects.get(pk=org_key.key.pk).last_used_at
    assert first is not None
    # Within the minute the key comes from the cache and last-used is not written: no query at all.
    with django_assert_num_queries(0):
        assert client.get(ME).status_code == 200
    assert ApiKey.objects.get(pk=org_key.key.pk).last_used_at == first


def test_a_member_losing_admin_role_loses_admin_rights_at_once(api, org, org_admin):
    _, token = issue_api_key(org, name="ada's key", membership=org_admin)
    assert api(token).get("/api/v1/api-keys").status_code == 200
    org_admin.role = "member"
    org_admin.save()
    assert api(token).get("/api/v1/api-keys").status_code == 403


def test_deleting_a_key_stops_it_at_once(api, org_key):
    assert api(org_key.token).get(ME).status_code == 200
    ApiKey.objects.get(pk=org_key.key.pk).delete()
    assert api(org_key.token).get(ME).status_code == 401


def test_last_used_is_refreshed_after_a_minute(api, org_key, time_machine):
    client = api(org_key.token)
    client.get(ME)
    first = ApiKey.objects.get(pk=org_key.key.pk).last_used_at
    time_machine.move_to(timezone.now() + timedelta(seconds=61))
    client.get(ME)
    assert ApiKey.objects.get(pk=org_key.key.pk).last_used_at > first


# --- The plugin gateway dialect -----------------------------------------------------------------


@pytest.mark.urls("tests.api.gateway_urls")
class TestGatewayDialect:
    def test_missing_tenant_header_is_exactly_the_seed_body(self, api, plugin_key):
        response = api(plugin_key.token, tenant=None).get(GATEWAY)
        assert response.status_code == 401
        assert response.json() == {"error": "X-Tenant-Slug header required"}

    def test_missing_credential(self, api, org):
        response = api(None).get(GATEWAY)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == "Authentication required"
        assert response.json()["message"]

    def test_foreign_org(self, api, plugin_key, other_org):
        response = api(plugin_key.token, tenant="globex").get(GATEWAY)
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
        assert response.json()["message"]

    def test_plugin_key_passes(self, api, plugin_key):
        response = api(plugin_key.token).get(GATEWAY)
        assert response.status_code == 200
        assert response.json() == {"organization": "acme-corp", "kind": "plugin"}

    def test_key_without_gateway_scope_is_403(self, api, org):
        _, token = issue_api_key(org, name="api only", scopes=[ApiKey.Scope.API_READ])
        assert api(token).get(GATEWAY).status_code == 403

    def test_unknown_gateway_path_is_a_json_404(self, api, plugin_key):
        response = api(plugin_key.token).get("/api/plugin-gateway/no/such/thing")
        assert response.status_code == 404
        assert response.json()["error"] == "Not found"
