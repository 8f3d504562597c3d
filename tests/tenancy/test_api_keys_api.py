from datetime import timedelta

from django.utils import timezone

from plexica.tenancy.models import ApiKey
from plexica.tenancy.services import hash_token, issue_api_key


def test_org_admin_creates_a_plugin_key_and_sees_the_token_once(api, org_key, crm_plugin):
    response = api(org_key.token).post(
        "/api/v1/api-keys", {"name": "crm runtime", "pluginId": "plugin-crm", "scopes": ["gateway"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    item = body["item"]
    assert item["kind"] == "plugin" and item["pluginId"] == "plugin-crm" and item["scopes"] == ["gateway"]
    token = item["token"]
    assert ApiKey.objects.get(pk=item["id"]).key_hash == hash_token(token)
    # Shown once: reading the key back never returns the token.
    detail = api(org_key.token).get(f"/api/v1/api-keys/{item['id']}").json()["item"]
    assert "token" not in detail and detail["prefix"] == token[:12]


def test_creating_a_key_for_a_plugin_of_another_org_is_400(api, org_key, other_org):
    from plexica.plugins.models import Plugin

    Plugin.objects.create(organization=other_org, plugin_id="plugin-spy", name="spy")
    response = api(org_key.token).post("/api/v1/api-keys", {"name": "x", "pluginId": "plugin-spy"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("pluginId:")


def test_creating_a_key_for_a_member_of_another_org_is_400(api, org_key, other_org, django_user_model):
    from plexica.tenancy.services import add_member

    outsider = add_member(other_org, django_user_model.objects.create(username="otto"))[0]
    response = api(org_key.token).post("/api/v1/api-keys", {"name": "x", "membershipId": outsider.pk}, format="json")
    assert response.status_code == 400
    assert "membershipId" in response.json()["error"]["details"]


def test_an_expiry_in_the_past_is_400_and_no_key_is_made(api, org_key):
    before = ApiKey.objects.count()
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = api(org_key.token).post("/api/v1/api-keys", {"name": "x", "expiresAt": past}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "expiresAt: Must be in the future."
    assert ApiKey.objects.count() == before


def test_revoking_a_key_makes_it_fail_at_once(api, org_key, plugin_key):
    response = api(org_key.token).post(f"/api/v1/api-keys/{plugin_key.key.pk}/revoke")
    assert response.status_code == 200
    assert response.json()["item"]["revokedAt"] is not None
    assert api(plugin_key.token).get("/api/v1/me").status_code == 401


def test_keys_of_another_org_are_invisible(api, org_key, other_org_key):
    client = api(org_key.token)
    ids = [item["id"] for item in client.get("/api/v1/api-keys").json()["items"]]
    assert other_org_key.key.pk not in ids
    assert client.get(f"/api/v1/api-keys/{other_org_key.key.pk}").status_code == 404
    assert client.post(f"/api/v1/api-keys/{other_org_key.key.pk}/revoke").status_code == 404
    assert ApiKey.objects.get(pk=other_org_key.key.pk).revoked_at is None


def test_plugin_and_member_keys_cannot_manage_keys(api, plugin_key, member_key):
    for token in (plugin_key.token, member_key.token):
        response = api(token).get("/api/v1/api-keys")
        assert response.status_code == 403
        assert "organization admin" in response.json()["error"]["message"]


def test_key_list_pages_with_a_cursor_and_filters_by_state(api, org_key, org):
    for number in range(5):
        issue_api_key(org, name=f"bulk {number}")
    revoked, _ = issue_api_key(org, name="old", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    client = api(org_key.token)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/api-keys", params).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7

    active = client.get("/api/v1/api-keys", {"state": "active"}).json()["items"]
    assert revoked.pk not in [item["id"] for item in active]
    assert [item["id"] for item in client.get("/api/v1/api-keys", {"state": "revoked"}).json()["items"]] == [revoked.pk]


def test_an_unknown_state_filter_is_400_not_every_key(api, org_key):
    response = api(org_key.token).get("/api/v1/api-keys", {"state": "revokd"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "state: Must be one of: active, revoked."


def test_page_size_above_the_maximum_is_400(api, org_key):
    response = api(org_key.token).get("/api/v1/api-keys", {"limit": 101})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("limit:")


def test_a_forged_cursor_is_400(api, org_key):
    response = api(org_key.token).get("/api/v1/api-keys", {"cursor": "garbage"})
    assert response.status_code == 400
