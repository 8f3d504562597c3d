import pytest


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    """The OpenAPI schema as /api/schema/ serves it, generated once per module."""
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


@pytest.fixture
def gateway_api(api, plugin_key):
    return api(plugin_key.token)
