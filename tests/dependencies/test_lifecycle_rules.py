"""Who may move a plugin through its lifecycle: org admins, whoever calls change_lifecycle (no HTTP), and
the history says who did it through what."""

import pytest

from dependencies.lifecycle import Action, Via, change_lifecycle
from plexica.errors import Forbidden
from plexica.plugins.models import LifecycleTransition, Plugin
from plexica.tenancy.principal import Principal
from tests.principals import CALLERS, ORG_ADMINS, acting_as

State = Plugin.LifecycleState


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("kind", sorted(set(CALLERS) - ORG_ADMINS))
def test_a_caller_who_is_not_an_org_admin_changes_no_lifecycle(org, crm_plugin, kind, action):
    principal = acting_as(kind, org, plugin=crm_plugin)
    with pytest.raises(Forbidden) as refused:
        change_lifecycle(principal, "plugin-crm", action, version="1.0.0" if action == Action.INSTALL else None)
    assert refused.value.code == "org_capability_required"
    assert Plugin.objects.get(pk=crm_plugin.pk).lifecycle_state == State.REGISTERED
    assert not LifecycleTransition.objects.exists()


def test_a_plugin_key_is_refused_even_for_a_plugin_that_does_not_exist(org, crm_plugin):
    with pytest.raises(Forbidden):
        change_lifecycle(acting_as("plugin key", org, plugin=crm_plugin), "plugin-nope", Action.ENABLE)


@pytest.mark.parametrize("kind", sorted(ORG_ADMINS))
def test_an_org_admin_installs_and_the_history_names_them(org, crm_plugin, kind):
    principal = acting_as(kind, org, plugin=crm_plugin)
    plugin = change_lifecycle(principal, "plugin-crm", Action.INSTALL, version="1.1.0")
    assert plugin.lifecycle_state == State.INSTALLED and plugin.version == "1.1.0"
    transition = LifecycleTransition.objects.get()
    assert transition.via == Via.API and transition.api_key == principal.api_key
    assert transition.user == principal.user
    if principal.user is not None:
        assert transition.actor == principal.user.get_username()
    elif principal.api_key is not None:
        assert transition.actor == f"API key {principal.api_key.name} ({principal.api_key.prefix}…)"
    else:
        assert transition.actor == "system"


def test_the_admin_records_its_changes_as_made_through_the_admin(org, crm_plugin, org_admin):
    principal = Principal(organization=org, membership=org_admin, user=org_admin.user)
    change_lifecycle(principal, "plugin-crm", Action.INSTALL, via=Via.ADMIN)
    transition = LifecycleTransition.objects.get()
    assert (transition.via, transition.actor, transition.user) == (Via.ADMIN, "ada", org_admin.user)
