import pytest

from plexica.plugins.models import Plugin
from plexica.plugins.services import grant_permission
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import issue_api_key
from registry.services import Registration, register_service
from tests.conftest import IssuedKey
from tests.gateway.upstream import Upstream

CALL_URL = "/api/plugin-gateway/call"
OMIT = object()  # call(field=OMIT) leaves the field out of the request body

# The CRM contacts service the tests call: the seed's endpoints plus an exact path that a template
# would also match, and an endpoint any plugin of the org may call.
CONTACT_ENDPOINTS = [
    {"method": "GET", "path": "/contacts", "permissions": ["crm:contacts:read"]},
    {"method": "POST", "path": "/contacts", "permissions": ["crm:contacts:write"]},
    {"method": "GET", "path": "/contacts/:id", "permissions": ["crm:contacts:read"]},
    {"method": "GET", "path": "/contacts/export", "permissions": ["crm:contacts:export"]},
    {"method": "DELETE", "path": "/contacts/:id", "permissions": ["crm:contacts:write"]},
    {"method": "GET", "path": "/status", "permissions": []},
]


@pytest.fixture
def upstream():
    """A real HTTP server on 127.0.0.1 standing in for the CRM plugin's service."""
    with Upstream() as server:
        yield server


@pytest.fixture
def analytics_plugin(org):
    return Plugin.objects.create(organization=org, plugin_id="plugin-analytics", name="Analytics", version="1.0.0")


@pytest.fixture
def analytics_key(org, analytics_plugin):
    """The calling plugin's own key."""
    return IssuedKey(*issue_api_key(org, name="analytics", plugin=analytics_plugin))


@pytest.fixture
def grant(analytics_plugin):
    """grant("crm:contacts:read", ...) gives the calling plugin those permissions."""

    def make(*permissions, plugin=None):
        for permission in permissions:
            grantee = plugin or analytics_plugin
            grant_permission(Principal.system(grantee.organization), grantee.plugin_id, permission)

    return make


@pytest.fixture
def register(org, crm_plugin):
    """register(base_url, endpoints=CONTACT_ENDPOINTS, ...) registers crm.contacts of plugin-crm; returns the service."""

    def make(base_url, endpoints=None, *, service_name="crm.contacts", plugin_id="plugin-crm", organization=None,
             now=None):
        registration = Registration(
            plugin_id=plugin_id, service_name=service_name, version="1.0.0", base_url=base_url,
            endpoints=CONTACT_ENDPOINTS if endpoints is None else endpoints,
        )
        service, _ = register_service(Principal.system(organization or org), registration, now=now)
        return service

    return make


@pytest.fixture
def contacts(upstream, register):
    """crm.contacts registered at the upstream's /v2."""
    return register(upstream.base_url("/v2"))


@pytest.fixture
def call(api, analytics_key):
    """call(path="/contacts", token=analytics key, headers=None, **fields) -> the gateway's response.

    Fields default to analytics calling GET on crm.contacts of plugin-crm; a field given as OMIT is left out.
    `http_headers` are sent to the gateway itself (e.g. X-Request-ID), `headers` go into the call body.
    """

    def make(path="/contacts", *, token=None, tenant="acme-corp", http_headers=None, **fields):
        body = {
            "callerPluginId": "plugin-analytics",
            "targetPluginId": "plugin-crm",
            "targetServiceName": "crm.contacts",
            "method": "GET",
            "path": path,
            **fields,
        }
        body = {name: value for name, value in body.items() if value is not OMIT}
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (http_headers or {}).items()}
        return api(token or analytics_key.token, tenant=tenant).post(CALL_URL, body, format="json", **extra)

    return make
