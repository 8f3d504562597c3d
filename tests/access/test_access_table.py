"""The access table: every kind of caller x every action x every shareable resource type, at the service layer.

No HTTP: each action is the service function the API, the admin, a worker (or an MCP tool) calls. A caller
is either a plain member holding one grant on the resource under test (a member, team or org-wide grant of
viewer, editor or manager) or one of the caller kinds of `tests.principals` holding no grant at all. The
expected answer follows from the rules alone:

- a role action needs at least that role on the resource: grants give it; org admins, org keys, superusers
  and the system are managers of everything; a plugin's key views its own plugin and the config objects in it;
  anyone else has no access. A refusal is a 403 `resource_access_denied` naming the role it needed.
- a capability action (creating a resource) needs a person of the organization (not a plugin's key) or an
  org admin; a refusal is a 403 `org_capability_required`.
- executing an integration instance's methods needs the editor role, except for callers who are not members:
  plugin keys execute as org admins do. Reading an integration instance is everyone's in the organization.
"""

from dataclasses import dataclass

import pytest

from connectors.integrations import definitions as integration_definitions
from connectors.integrations import execution as integration_execution
from connectors.integrations import instances as integration_instances
from connectors.integrations.errors import ValidationFailed
from connectors.services import instances, targets
from connectors.sharing import CONNECTOR_INSTANCE, INTEGRATION_INSTANCE
from marketplaces.catalog.services import bundles, marketplaces, plugins
from marketplaces.config_objects.models import ConfigObject, ConfigObjectType
from marketplaces.config_objects.services import (
    VersionInput,
    add_version,
    archive_config_object,
    create_config_object,
    delete_config_object,
    get_config_object,
    list_versions,
)
from marketplaces.delivery import releases
from marketplaces.delivery import services as delivery
from marketplaces.sharing import CONFIG_OBJECT, MARKETPLACE
from plexica.access import registry
from plexica.access import services as access
from plexica.access.models import ROLE_RANK
from plexica.errors import Forbidden
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.models import Membership, Team, TeamMembership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, create_organization, ensure_user
from tests.connectors import factories
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2
from tests.principals import CALLERS, ORG_ADMINS, acting_as

VIEWER, EDITOR, MANAGER = access.VIEWER, access.EDITOR, access.MANAGER
PERSON, ORG_ADMIN = "person", "org admin"  # capability actions
ANYONE = "anyone in the organization"
EXECUTOR = "executor"  # the editor role for members; plugin keys and org admins without one
SKILL = ConfigObjectType.SKILL
CLOUD = ConfigObject.SourceMode.CLOUD


@dataclass
class World:
    """One organization with a resource of every shareable type: plugin-crm holds a config object and is offered
    in a marketplace; a GitHub connector instance with one target; a CONNECTED integration instance."""

    org: object
    system: Principal
    plugin: object
    object_id: str
    marketplace_id: str
    instance_id: str
    integration_id: str

    def pk(self, resource_type):
        return {PLUGIN: self.plugin.pk, CONFIG_OBJECT: self.object_id, MARKETPLACE: self.marketplace_id,
                CONNECTOR_INSTANCE: self.instance_id, INTEGRATION_INSTANCE: self.integration_id}[resource_type]


@pytest.fixture
def world(db):
    org = create_organization("table-co", "Table Co")[0]
    system = Principal.system(org)
    plugin = plugins.create_plugin(system, "plugin-crm", "CRM")
    obj, _version = create_config_object(system, SKILL, CLOUD, VersionInput(raw_source_text=SKILL_V1))
    bundles.add_config_object_to_plugin(system, plugin, obj)
    marketplace = marketplaces.create_marketplace(system, "Sales tools")
    marketplaces.add_plugin_to_marketplace(system, marketplace, plugin)
    instance = factories.instance(org)
    factories.target(org, instance)
    return World(org, system, plugin, obj.pk, marketplace.pk, instance.pk, _integration_instance(system).pk)


def _integration_instance(system):
    """A CONNECTED instance (authType none) of a definition whose method `ping` needs a `text` parameter."""
    definition = integration_definitions.create(
        system, name="Table API", version="1.0.0", default_config={"baseUrl": "http://127.0.0.1:9"},
        methods=[{"name": "ping", "paramSchema": {"type": "object", "required": ["text"]}}])
    integration_definitions.transition(system, definition.pk, "PUBLISHED")
    return integration_instances.create(system, definition_id=definition.pk, name="Table")


def _execute(principal, world):
    """Execute `ping` without its parameter: past the authorization, the 400 says the caller was let in."""
    with pytest.raises(ValidationFailed):
        integration_execution.execute(principal, world.integration_id, "ping", {})


def _bystanders_grant(world, resource_type):
    """A viewer grant to a team the caller is not in: one to revoke that gives the caller nothing."""
    team, _ = Team.objects.get_or_create(organization=world.org, slug="bystanders", defaults={"name": "Bystanders"})
    return access.grant(world.system, resource_type, world.pk(resource_type), VIEWER, team_id=team.pk)[0]


def _version(world):
    return VersionInput(raw_source_text=SKILL_V2, reason="table")


# (action, what it needs, the service call); each runs on a fresh world.
ACTIONS = {
    CONFIG_OBJECT: [
        ("create", PERSON, lambda p, w: create_config_object(p, SKILL, CLOUD, VersionInput(raw_source_text=SKILL_V1))),
        ("view", VIEWER, lambda p, w: get_config_object(p, w.object_id)),
        ("list versions", VIEWER, lambda p, w: list(list_versions(p, w.object_id))),
        ("download", VIEWER, lambda p, w: delivery.download_config_object(p, w.object_id)),
        ("add a version", EDITOR, lambda p, w: add_version(p, w.object_id, _version(w))),
        ("archive", MANAGER, lambda p, w: archive_config_object(p, w.object_id)),
        ("delete", MANAGER, lambda p, w: delete_config_object(p, w.object_id)),
    ],
    PLUGIN: [
        ("create", ORG_ADMIN, lambda p, w: plugins.create_plugin(p, "plugin-new", "New")),
        ("view", VIEWER, lambda p, w: plugins.get_plugin(p, "plugin-crm")),
        ("list its config objects", VIEWER, lambda p, w: list(bundles.config_objects_of_plugin(p, "plugin-crm"))),
        ("list releases", VIEWER, lambda p, w: list(releases.list_releases(p, "plugin-crm"))),
        ("edit", EDITOR, lambda p, w: plugins.update_plugin(p, "plugin-crm", description="Changed")),
        ("make a release", MANAGER, lambda p, w: releases.create_release(p, "plugin-crm", name="r1")),
        ("archive", MANAGER, lambda p, w: plugins.archive_plugin(p, "plugin-crm")),
    ],
    MARKETPLACE: [
        ("create", ORG_ADMIN, lambda p, w: marketplaces.create_marketplace(p, "Another")),
        ("view", VIEWER, lambda p, w: marketplaces.get_marketplace(p, w.marketplace_id)),
        ("list its plugins", VIEWER, lambda p, w: list(marketplaces.plugins_of_marketplace(p, w.marketplace_id))),
        ("edit", EDITOR, lambda p, w: marketplaces.update_marketplace(p, w.marketplace_id, description="Changed")),
        ("archive", MANAGER, lambda p, w: marketplaces.archive_marketplace(p, w.marketplace_id)),
        ("delete", MANAGER, lambda p, w: marketplaces.delete_marketplace(p, w.marketplace_id)),
    ],
    CONNECTOR_INSTANCE: [
        ("create", ORG_ADMIN, lambda p, w: instances.create_instance(
            p, factories.account(w.org, installation_id=2002).pk, "Another repo")),
        ("view", VIEWER, lambda p, w: instances.get_instance(p, w.instance_id)),
        ("list its targets", VIEWER, lambda p, w: list(targets.target_queryset(p, w.instance_id))),
        ("edit", EDITOR, lambda p, w: instances.update_instance(p, w.instance_id, description="Changed")),
        ("disable", EDITOR, lambda p, w: instances.disable_instance(p, w.instance_id)),
        ("archive", MANAGER, lambda p, w: instances.archive_instance(p, w.instance_id)),
    ],
    INTEGRATION_INSTANCE: [
        ("view", ANYONE, lambda p, w: integration_instances.get(p, w.integration_id)),
        ("execute", EXECUTOR, _execute),
        ("rename", ORG_ADMIN, lambda p, w: integration_instances.update(p, w.integration_id, name="Renamed")),
        ("disconnect", ORG_ADMIN, lambda p, w: integration_instances.disconnect(p, w.integration_id)),
        ("delete", ORG_ADMIN, lambda p, w: integration_instances.delete(p, w.integration_id)),
    ],
}
# Sharing is the same service for every type: see who has access, grant, revoke (the manager role).
for _type in ACTIONS:
    ACTIONS[_type] += [
        ("see its grants", MANAGER, lambda p, w, t=_type: list(access.list_grants(p, t, w.pk(t)))),
        ("share", MANAGER, lambda p, w, t=_type: access.grant(p, t, w.pk(t), VIEWER, org_wide=True)),
        ("revoke a grant", MANAGER, lambda p, w, t=_type: access.revoke(p, t, w.pk(t), _bystanders_grant(w, t).pk)),
    ]

# Every role through a member grant; team and org-wide grants reach the member the same way (one role each).
GRANTED = [(VIEWER, "member"), (EDITOR, "member"), (MANAGER, "member"), (EDITOR, "team"), (VIEWER, "org")]
KINDS = [f"{role} via {subject} grant" for role, subject in GRANTED] + list(CALLERS)


def _granted_member(world, resource_type, role, subject):
    user, _ = ensure_user("granted-member")
    membership = add_member(world.org, user, Membership.Role.MEMBER)[0]
    pk = world.pk(resource_type)
    if subject == "member":
        access.grant(world.system, resource_type, pk, role, membership_id=membership.pk)
    elif subject == "team":
        team = Team.objects.create(organization=world.org, slug="granted", name="Granted")
        TeamMembership.objects.create(team=team, membership=membership)
        access.grant(world.system, resource_type, pk, role, team_id=team.pk)
    else:
        access.grant(world.system, resource_type, pk, role, org_wide=True)
    return Principal(organization=world.org, membership=membership, user=user)


def _caller(world, kind, resource_type):
    """The principal of `kind`, and the role the rules give it on the resource under test (None: no access)."""
    for role, subject in GRANTED:
        if kind == f"{role} via {subject} grant":
            return _granted_member(world, resource_type, role, subject), role, True
    principal = acting_as(kind, world.org, plugin=world.plugin)
    if kind in ORG_ADMINS:
        return principal, MANAGER, True
    if kind == "plugin key":  # its own plugin, and the config objects in it
        return principal, VIEWER if resource_type in (PLUGIN, CONFIG_OBJECT) else None, False
    return principal, None, True


def _cases():
    for resource_type, actions in ACTIONS.items():
        for action, needed, call in actions:
            for kind in KINDS:
                yield pytest.param(resource_type, needed, call, kind, id=f"{resource_type}-{action}-{kind}")


def test_the_table_covers_every_registered_resource_type():
    assert {shareable.key for shareable in registry.all_types()} == set(ACTIONS)


@pytest.mark.parametrize(("resource_type", "needed", "call", "kind"), list(_cases()))
def test_access_table(world, resource_type, needed, call, kind):
    principal, role, is_person = _caller(world, kind, resource_type)
    if needed == ANYONE:
        allowed, code = True, None
    elif needed == EXECUTOR:
        allowed = kind == "plugin key" or role is not None and ROLE_RANK[role] >= ROLE_RANK[EDITOR]
        code, needed = "resource_access_denied", EDITOR
    elif needed == PERSON:
        allowed, code = is_person, "org_capability_required"
    elif needed == ORG_ADMIN:
        allowed, code = principal.is_org_admin, "org_capability_required"
    else:
        allowed, code = role is not None and ROLE_RANK[role] >= ROLE_RANK[needed], "resource_access_denied"
    if allowed:
        call(principal, world)
        return
    with pytest.raises(Forbidden) as refused:
        call(principal, world)
    assert refused.value.code == code, refused.value.message
    if code == "resource_access_denied":
        assert refused.value.extra["requiredRole"] == needed
        assert refused.value.extra["role"] == role
