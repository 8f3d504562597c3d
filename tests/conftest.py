import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey, Membership
from plexica.tenancy.services import add_member, create_organization, ensure_user, issue_api_key

# In CI every marked test must run: a skip there would hide a backend that was never exercised.
REQUIRE_BACKENDS = os.environ.get("PLEXICA_REQUIRE_BACKENDS") == "1"


def pytest_runtest_setup(item):
    missing = []
    if item.get_closest_marker("requires_postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        missing.append("PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("requires_redis") and not settings.REDIS_URL:
        missing.append("Redis (set REDIS_URL)")
    if missing:
        message = "needs " + " and ".join(missing)
        if REQUIRE_BACKENDS:
            pytest.fail(message + ", which PLEXICA_REQUIRE_BACKENDS=1 demands")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit windows and cached reads never leak from one test into the next."""
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        cache.delete_pattern("*")
        redis = get_redis_connection("default")
        for key in redis.scan_iter("plexica:ratelimit:*"):
            redis.delete(key)
    else:
        cache.clear()
    yield


@dataclass
class IssuedKey:
    key: ApiKey
    token: str


@pytest.fixture
def org(db):
    return create_organization("acme-corp", "Acme Corp")[0]


@pytest.fixture
def other_org(db):
    return create_organization("globex", "Globex")[0]


@pytest.fixture
def crm_plugin(org):
    return Plugin.objects.create(organization=org, plugin_id="plugin-crm", name="CRM", version="1.0.0")


@pytest.fixture
def org_key(org):
    return IssuedKey(*issue_api_key(org, name="automation"))


@pytest.fixture
def plugin_key(org, crm_plugin):
    return IssuedKey(*issue_api_key(org, name="crm", plugin=crm_plugin))


@pytest.fixture
def member(org):
    user, _ = ensure_user("mia", password="correct-horse-battery")
    return add_member(org, user, Membership.Role.MEMBER)[0]


@pytest.fixture
def org_admin(org):
    user, _ = ensure_user("ada", password="correct-horse-battery", is_staff=True)
    return add_member(org, user, Membership.Role.ADMIN)[0]


@pytest.fixture
def superuser(db):
    """A superuser of no organization: the admin shows them every one, or the one they switch to."""
    return ensure_user("root", password="correct-horse-battery", is_staff=True, is_superuser=True)[0]


@pytest.fixture
def client_of(client):
    """client_of(membership_or_user) -> the test client logged in as that user (admin pages)."""

    def login(who):
        client.force_login(getattr(who, "user", who))
        return client

    return login


@pytest.fixture
def member_key(org, member):
    return IssuedKey(*issue_api_key(org, name="mia's key", membership=member))


@pytest.fixture
def other_org_key(other_org):
    return IssuedKey(*issue_api_key(other_org, name="globex automation"))


@pytest.fixture
def api():
    """api(token, tenant="acme-corp") -> an APIClient sending those credentials."""

    def make(token=None, tenant="acme-corp"):
        client = APIClient()
        headers = {}
        if tenant is not None:
            headers["HTTP_X_TENANT_SLUG"] = tenant
        if token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        client.credentials(**headers)
        return client

    return make


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the suite's database is a file, not Django's shared in-memory one: the live server's
    threads then open connections of their own (WAL, a busy timeout) as `make run`'s do, instead of sharing
    the test's one connection, whose statements and transactions they would otherwise interleave with."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")
