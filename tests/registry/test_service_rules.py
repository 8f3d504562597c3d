"""Who may register and deregister a plugin's services: its own key, org admins and the system, whoever
calls the services (no HTTP); anyone in the organization discovers and lists them."""

import pytest

from plexica.errors import Forbidden
from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from registry.models import PluginService
from registry.services import Registration, deregister_service, discover_service, list_services, register_service
from tests.principals import CALLERS, ORG_ADMINS, acting_as

CONTACTS = Registration(plugin_id="plugin-crm", service_name="crm.contacts", version="1.0.0")


@pytest.mark.parametrize("kind", CALLERS)
def test_a_plugins_own_key_and_org_admins_register_its_services(org, crm_plugin, kind):
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in ORG_ADMINS | {"plugin key"}:
        service, created = register_service(principal, CONTACTS)
        assert created and service.plugin == crm_plugin
    else:
        with pytest.raises(Forbidden) as refused:
            register_service(principal, CONTACTS)
        assert refused.value.code == "org_capability_required"
        assert not PluginService.objects.exists()


def test_a_plugin_key_registers_no_service_for_another_plugin(org, crm_plugin):
    principal = acting_as("plugin key", org, plugin=crm_plugin)
    with pytest.raises(Forbidden) as refused:
        register_service(principal, Registration(plugin_id="plugin-mail", service_name="mail.send", version="1.0.0"))
    assert "acts as plugin-crm" in refused.value.message
    assert not Plugin.objects.filter(plugin_id="plugin-mail").exists()


@pytest.mark.parametrize("kind", CALLERS)
def test_a_plugins_own_key_and_org_admins_deregister_its_services(org, crm_plugin, kind):
    register_service(Principal.system(org), CONTACTS)
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in ORG_ADMINS | {"plugin key"}:
        deregister_service(principal, "plugin-crm", "crm.contacts")
        assert not PluginService.objects.exists()
    else:
        with pytest.raises(Forbidden):
            deregister_service(principal, "plugin-crm", "crm.contacts")
        assert PluginService.objects.count() == 1


def test_a_plugin_key_deregisters_no_service_of_another_plugin(org, crm_plugin):
    mail = Plugin.objects.create(organization=org, plugin_id="plugin-mail", name="mail")
    register_service(Principal.system(org), Registration(plugin_id="plugin-mail", service_name="mail.send",
                                                         version="1.0.0"))
    with pytest.raises(Forbidden):
        deregister_service(acting_as("plugin key", org, plugin=crm_plugin), "plugin-mail", "mail.send")
    assert PluginService.objects.filter(plugin=mail).exists()


@pytest.mark.parametrize("kind", CALLERS)
def test_anyone_in_the_organization_discovers_and_lists_services(org, crm_plugin, kind):
    register_service(Principal.system(org), CONTACTS)
    principal = acting_as(kind, org, plugin=crm_plugin)
    assert discover_service(principal, "crm.contacts")["pluginId"] == "plugin-crm"
    assert [s["serviceName"] for s in list_services(principal)] == ["crm.contacts"]
