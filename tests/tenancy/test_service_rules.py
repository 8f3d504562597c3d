"""Who may manage API keys (org admins) and read the directory of members and teams (anyone in the
organization but a plugin's key), whoever calls the services (no HTTP)."""

import pytest

from plexica.errors import Forbidden, NotFound
from plexica.tenancy import services
from plexica.tenancy.models import ApiKey, Team
from plexica.tenancy.principal import Principal
from tests.principals import CALLERS, ORG_ADMINS, PEOPLE, acting_as


def _refused(call):
    with pytest.raises(Forbidden) as refused:
        call()
    assert refused.value.code == "org_capability_required"


@pytest.mark.parametrize("kind", CALLERS)
def test_only_org_admins_issue_api_keys(org, crm_plugin, kind):
    principal = acting_as(kind, org, plugin=crm_plugin)
    before = ApiKey.objects.count()
    if kind in ORG_ADMINS:
        key, token = services.create_api_key(principal, name="ci", plugin=crm_plugin, scopes=["gateway"])
        assert services.find_api_key(token) == key and key.created_by == principal.user
    else:
        _refused(lambda: services.create_api_key(principal, name="ci"))
        assert ApiKey.objects.count() == before


@pytest.mark.parametrize("kind", CALLERS)
def test_only_org_admins_list_read_and_revoke_api_keys(org, crm_plugin, kind):
    target, token = services.issue_api_key(org, name="target")
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in ORG_ADMINS:
        assert target in services.list_api_keys(principal, state="active")
        assert services.get_api_key(principal, target.pk) == target
        assert services.revoke_api_key(principal, target.pk).revoked_at is not None
        assert services.find_api_key(token) is None
    else:
        _refused(lambda: services.list_api_keys(principal))
        _refused(lambda: services.get_api_key(principal, target.pk))
        _refused(lambda: services.revoke_api_key(principal, target.pk))
        assert services.find_api_key(token) == target


def test_an_admin_never_reaches_another_organizations_key(org, other_org):
    foreign, token = services.issue_api_key(other_org, name="globex automation")
    admin = Principal.system(org)
    assert foreign not in services.list_api_keys(admin)
    for call in (services.get_api_key, services.revoke_api_key):
        with pytest.raises(NotFound):
            call(admin, foreign.pk)
    assert services.find_api_key(token) == foreign


def test_a_key_for_another_organizations_plugin_is_refused(org, other_org):
    from django.core.exceptions import ValidationError

    from plexica.plugins.models import Plugin

    spy = Plugin.objects.create(organization=other_org, plugin_id="plugin-spy", name="spy")
    with pytest.raises(ValidationError):
        services.create_api_key(Principal.system(org), name="x", plugin=spy)


@pytest.mark.parametrize("kind", CALLERS)
def test_everyone_but_a_plugin_key_reads_the_members_and_teams(org, crm_plugin, member, kind):
    Team.objects.create(organization=org, slug="sales", name="Sales")
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in PEOPLE:
        assert member in services.list_members(principal)
        assert [(t.slug, t.member_count) for t in services.list_teams(principal)] == [("sales", 0)]
    else:
        _refused(lambda: services.list_members(principal))
        _refused(lambda: services.list_teams(principal))


def test_the_directory_lists_only_the_callers_organization(org, other_org, member):
    Team.objects.create(organization=other_org, slug="ops", name="Ops")
    outsider = Principal.system(other_org)
    assert list(services.list_members(outsider)) == [] and [t.slug for t in services.list_teams(outsider)] == ["ops"]
