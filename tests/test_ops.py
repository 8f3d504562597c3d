import pytest
from django.test import override_settings

import plexica

# Nothing listens on port 1: a real, stopped dependency.
STOPPED_REDIS = "redis://127.0.0.1:1/0"
STOPPED_CACHE = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": STOPPED_REDIS,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
}


def test_healthz_answers_without_touching_the_database(client):
    # No db fixture: pytest-django raises if the view opens a database connection.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_every_component_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"database", "cache"} <= set(body["components"])
    assert all(component["status"] == "ok" for component in body["components"].values())


@pytest.mark.django_db
def test_readyz_names_a_stopped_cache(client):
    with override_settings(CACHES=STOPPED_CACHE):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["components"]["cache"]["status"] == "down"
    assert body["components"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_names_a_stopped_broker_in_full_mode(client):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=STOPPED_REDIS):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "broker" in response.json()["failing"]


@pytest.mark.requires_redis
@pytest.mark.django_db
def test_readyz_checks_the_real_broker_in_full_mode(client, settings):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=settings.REDIS_URL):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["components"]["broker"]["status"] == "ok"


@pytest.mark.django_db
def test_status_reports_version_uptime_and_components(client):
    body = client.get("/api/v1/status").json()
    assert body["version"] == plexica.__version__
    assert body["uptimeSeconds"] >= 0
    assert body["mode"] in {"embedded", "full"}
    assert body["components"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_status_says_degraded_when_a_component_is_down(client):
    with override_settings(CACHES=STOPPED_CACHE):
        body = client.get("/api/v1/status").json()
    assert body["status"] == "degraded"
    assert body["components"]["cache"]["status"] == "down"


def test_openapi_schema_is_served_and_names_the_tenant_header(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/me" in schema["paths"]
    parameters = schema["paths"]["/api/v1/me"]["get"]["parameters"]
    assert any(p["name"] == "X-Tenant-Slug" and p["in"] == "header" for p in parameters)


def test_swagger_ui_is_served_from_local_static_files(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page


def test_redoc_is_served_from_local_static_files(client, db):
    page = client.get("/api/redoc/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc" in page
