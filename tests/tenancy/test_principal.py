"""The acting principal: the system principal that workers and seeding act as."""

from plexica.tenancy.principal import Principal


def test_the_system_principal_manages_its_organization_without_a_user(org, crm_plugin):
    system = Principal.system(org)
    assert system.organization == org and system.user is None and system.plugin is None
    assert system.is_org_admin and system.kind == "system"
    system.check_acts_for("plugin-crm")  # any plugin of the organization, as an org admin may
    assert system.has_scope("api:write", "gateway")


def test_a_member_principal_is_not_the_system(org, member):
    principal = Principal(organization=org, membership=member, user=member.user)
    assert not principal.is_system and principal.kind == "member" and not principal.is_org_admin
