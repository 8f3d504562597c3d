"""Who may grant, revoke and list a plugin's permissions: org admins, whoever calls the services (no HTTP)."""

import pytest

from plexica.errors import Forbidden, NotFound
from plexica.plugins import services
from plexica.plugins.models import PermissionGrant, Plugin
from plexica.tenancy.principal import Principal
from tests.principals import CALLERS, ORG_ADMINS, acting_as


@pytest.mark.parametrize("kind", CALLERS)
def test_only_org_admins_grant_a_permission(org, crm_plugin, kind):
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in ORG_ADMINS:
        grant, created = services.grant_permission(principal, "plugin-crm", "crm:contacts:read")
        assert created and grant.plugin == crm_plugin and grant.granted_by == principal.user
    else:
        with pytest.raises(Forbidden) as refused:
            services.grant_permission(principal, "plugin-crm", "crm:contacts:read")
        assert refused.value.code == "org_capability_required"
        assert not PermissionGrant.objects.exists()


@pytest.mark.parametrize("kind", CALLERS)
def test_only_org_admins_revoke_a_permission(org, crm_plugin, kind):
    services.grant_permission(Principal.system(org), "plugin-crm", "crm:contacts:read")
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in ORG_ADMINS:
        services.revoke_permission(principal, "plugin-crm", "crm:contacts:read")
        assert not PermissionGrant.objects.exists()
    else:
        with pytest.raises(Forbidden) as refused:
            services.revoke_permission(principal, "plugin-crm", "crm:contacts:read")
        assert refused.value.code == "org_capability_required"
        assert PermissionGrant.objects.count() == 1


@pytest.mark.parametrize("kind", CALLERS)
def test_only_org_admins_list_a_plugins_permissions(org, crm_plugin, kind):
    services.grant_permission(Principal.system(org), "plugin-crm", "crm:contacts:read")
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in ORG_ADMINS:
        assert [g.permission for g in services.permission_grants(principal, "plugin-crm")] == ["crm:contacts:read"]
    else:
        with pytest.raises(Forbidden):
            services.permission_grants(principal, "plugin-crm")


def test_a_non_admin_is_refused_before_learning_whether_the_plugin_exists(org, member):
    principal = Principal(organization=org, membership=member, user=member.user)
    with pytest.raises(Forbidden):
        services.grant_permission(principal, "plugin-nope", "x:read")


def test_an_admin_reaches_only_the_plugins_of_their_own_organization(org, other_org):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-erp", name="erp")
    services.grant_permission(Principal.system(other_org), "plugin-erp", "erp:read")
    admin = Principal.system(org)
    for call in (lambda: services.grant_permission(admin, "plugin-erp", "erp:write"),
                 lambda: services.revoke_permission(admin, "plugin-erp", "erp:read"),
                 lambda: services.permission_grants(admin, "plugin-erp")):
        with pytest.raises(NotFound):
            call()
    assert list(PermissionGrant.objects.values_list("permission", flat=True)) == ["erp:read"]


def test_revoking_a_permission_the_plugin_does_not_hold_is_not_found(org, crm_plugin):
    with pytest.raises(NotFound) as missing:
        services.revoke_permission(Principal.system(org), "plugin-crm", "crm:admin")
    assert missing.value.message == "Plugin plugin-crm does not hold the permission 'crm:admin'."
