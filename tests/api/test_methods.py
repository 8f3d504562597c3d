"""Every route answers every method in its surface's JSON: OPTIONS, HEAD, unsafe methods on unknown paths,
and the specific code of every 403."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from plexica.errors import Forbidden
from plexica.tenancy.models import ApiKey, Organization
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user, issue_api_key

UNSAFE = ("post", "put", "patch", "delete")


def _routes(resolver=None, prefix=""):
    """Every concrete path of the URL conf, with `x` in each path parameter."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + pattern)
        elif isinstance(entry, URLPattern):
            yield _concrete(prefix + pattern)


def _concrete(pattern):
    path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "x", pattern)  # <str:plugin_id> -> x
    path = re.sub(r"\(\?P<[^>]+>[^)]*\)", "x", path)  # regex groups -> x
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + path


API_ROUTES = sorted({route for route in _routes() if route.startswith("/api/")})


def _assert_json_answer(response, path):
    assert response.status_code < 500, (path, response.status_code, response.content[:300])
    if response.status_code != 204 and response.content:
        assert response["Content-Type"].startswith("application/json"), (path, response["Content-Type"])


def test_the_sweep_covers_both_surfaces():
    assert "/api/v1/plugins" in API_ROUTES
    assert any(route.startswith("/api/plugin-gateway/") for route in API_ROUTES)
    assert len(API_ROUTES) > 50


DOCS = ("/api/docs", "/api/redoc", "/api/schema")  # HTML pages and the YAML schema, by design


@pytest.mark.parametrize("path", [route for route in API_ROUTES if not route.startswith(DOCS)])
def test_options_on_every_route_answers_json_never_a_500(api, org_key, path):
    response = api(org_key.token).options(path)
    _assert_json_answer(response, path)


@pytest.mark.parametrize("path", API_ROUTES)
def test_head_on_every_route_is_never_a_500(api, org_key, path):
    response = api(org_key.token).head(path)
    assert response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize("path", API_ROUTES)
@pytest.mark.parametrize("method", UNSAFE)
def test_unsafe_methods_on_an_unknown_sibling_path_are_a_json_404(org_key, path, method):
    sibling = path.rstrip("/") + "/no-such-thing/"
    if path.startswith(DOCS):
        sibling = "/api/v1/no-such-thing"
    for headers in ({}, {"HTTP_X_TENANT_SLUG": "acme-corp", "HTTP_AUTHORIZATION": f"Bearer {org_key.token}"}):
        response = getattr(Client(enforce_csrf_checks=True), method)(sibling, **headers)
        assert response.status_code in (404, 405), (sibling, method, response.status_code)
        assert response["Content-Type"] == "application/json", (sibling, method, response.content[:200])


def test_options_on_a_post_endpoint_describes_it(api, org_key):
    response = api(org_key.token).options("/api/v1/plugins")
    assert response.status_code == 200
    assert {"GET", "POST", "OPTIONS"} <= set(response.json()["methods"])
    assert "POST" in response["Allow"]


def test_options_on_a_gateway_post_endpoint_describes_it(api, plugin_key):
    response = api(plugin_key.token).options("/api/plugin-gateway/services/register")
    assert response.status_code == 200 and "POST" in response.json()["methods"]


def test_options_without_credentials_is_the_json_401(api, org):
    response = api(None, tenant=None).options("/api/v1/plugins")
    assert response.status_code == 401 and response.json()["error"]["code"] == "tenant_header_required"
    response = api(None).options("/api/v1/plugins")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_required"


def test_a_trailing_slash_typo_on_post_is_a_json_404_not_a_csrf_page(api, org_key):
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/plugins/", {}, content_type="application/json",
        HTTP_X_TENANT_SLUG="acme-corp", HTTP_AUTHORIZATION=f"Bearer {org_key.token}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_session_post_without_a_csrf_token_is_a_json_403_naming_it(org):
    user, _ = ensure_user("owner", password="correct-horse-battery", is_staff=True)
    add_member(org, user, "owner")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/marketplaces", {"name": "X"}, content_type="application/json",
                           HTTP_X_TENANT_SLUG="acme-corp")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


# Members list with a next page: the cursor follows user__username.

def test_members_are_paged_by_username_to_the_end(api, org, org_key):
    for name in ("zoe", "ann", "bob"):
        add_member(org, ensure_user(name)[0], "member")
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        response = api(org_key.token).get("/api/v1/members", params)
        assert response.status_code == 200, response.content
        seen += [m["username"] for m in response.json()["items"]]
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == ["ann", "bob", "zoe"]


# Every 403 names what is missing with a specific code.

def test_a_member_key_listing_api_keys_is_org_capability_required(api, member_key):
    response = api(member_key.token).get("/api/v1/api-keys")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "org_capability_required"


def test_a_plugin_key_listing_people_is_org_capability_required(api, plugin_key):
    assert api(plugin_key.token).get("/api/v1/members").json()["error"]["code"] == "org_capability_required"


@pytest.mark.parametrize("slug", ["no-such-org", "globex"])
def test_an_unknown_or_foreign_tenant_is_tenant_access_denied(api, org_key, other_org, slug):
    response = api(org_key.token, tenant=slug).get("/api/v1/plugins")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_access_denied"


def test_a_suspended_organization_is_organization_suspended(api, org, org_key):
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    response = api(org_key.token).get("/api/v1/plugins")
    assert response.status_code == 403 and response.json()["error"]["code"] == "organization_suspended"


def test_a_read_only_key_writing_is_insufficient_scope(api, org):
    _, token = issue_api_key(org, name="reader", scopes=[ApiKey.Scope.API_READ])
    response = api(token).post("/api/v1/marketplaces", {"name": "Tools"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert "api:write" in response.json()["error"]["message"]


def test_a_plugin_key_on_an_admin_action_is_org_capability_required(api, plugin_key):
    response = api(plugin_key.token).post("/api/v1/plugins/plugin-crm/install", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "org_capability_required"


def test_a_plugin_key_acting_for_another_plugin_is_org_capability_required(org, plugin_key):
    principal = Principal(organization=org, api_key=plugin_key.key)
    with pytest.raises(Forbidden) as refused:
        principal.check_acts_for("plugin-other")
    assert refused.value.code == "org_capability_required"
