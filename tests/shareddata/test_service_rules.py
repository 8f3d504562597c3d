"""Who may write, overwrite, delete and read shared data, whoever calls the services (no HTTP): a plugin key
writes as its own plugin and touches only its plugin's entries; org admins and the system write as any plugin
and touch any entry; anyone in the organization reads."""

import pytest

from plexica.errors import Forbidden
from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from shareddata.models import SharedEntry
from shareddata.services import Write, delete_entry, get_entry, list_keys, set_entry
from tests.principals import CALLERS, ORG_ADMINS, acting_as


@pytest.fixture
def mail_plugin(org):
    return Plugin.objects.create(organization=org, plugin_id="plugin-mail", name="mail")


@pytest.mark.parametrize("kind", CALLERS)
def test_a_plugin_key_and_org_admins_write_as_the_plugin(org, crm_plugin, kind):
    principal = acting_as(kind, org, plugin=crm_plugin)
    write = Write("crm.cache", "count", 3, owner_id="plugin-crm")
    if kind in ORG_ADMINS | {"plugin key"}:
        entry, created = set_entry(principal, write)
        assert created and entry.owner == crm_plugin
    else:
        with pytest.raises(Forbidden):
            set_entry(principal, write)
        assert not SharedEntry.objects.exists()


@pytest.mark.parametrize("kind", CALLERS)
def test_only_the_owners_key_and_org_admins_overwrite_or_delete_an_entry(org, crm_plugin, mail_plugin, kind):
    set_entry(Principal.system(org), Write("mail.cache", "sent", 1, owner_id="plugin-mail"))
    principal = acting_as(kind, org, plugin=crm_plugin)  # a plugin key here is plugin-crm's, not the owner's
    if kind in ORG_ADMINS:
        set_entry(principal, Write("mail.cache", "sent", 2, owner_id="plugin-mail"))
        delete_entry(principal, "mail.cache", "sent")
        assert not SharedEntry.objects.exists()
    else:
        with pytest.raises(Forbidden):
            set_entry(principal, Write("mail.cache", "sent", 2, owner_id=principal.plugin.plugin_id
                                       if principal.plugin else "plugin-mail"))
        with pytest.raises(Forbidden):
            delete_entry(principal, "mail.cache", "sent")
        assert SharedEntry.objects.get().value == 1


@pytest.mark.parametrize("kind", CALLERS)
def test_anyone_in_the_organization_reads_and_lists_shared_data(org, crm_plugin, kind):
    set_entry(Principal.system(org), Write("crm.cache", "count", 3, owner_id="plugin-crm"))
    principal = acting_as(kind, org, plugin=crm_plugin)
    assert get_entry(principal, "crm.cache", "count").value == 3
    assert list_keys(principal, "crm.cache")[:2] == (["count"], 1)
