"""The marketplaces services check their own rules: called directly, without HTTP, as a plain member, a viewer,
an editor or a plugin key, each refuses with exactly the Forbidden the API answers (code, message, details),
and the system principal a worker acts as passes every rule of its organization."""

from dataclasses import dataclass

import pytest

from marketplaces.catalog.services import bundles, marketplaces, plugins
from marketplaces.config_objects import services as config_objects
from marketplaces.config_objects.models import ConfigObject
from marketplaces.delivery import releases
from marketplaces.delivery import services as delivery
from marketplaces.sharing import CONFIG_OBJECT, MARKETPLACE
from plexica.access import services as access
from plexica.api.permissions import resolve_principal
from plexica.errors import Forbidden, NotFound
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from tests.marketplaces.conftest import BASE, SKILL_V1, SKILL_V2

PLUGIN_CRM = "/api/v1/plugins/plugin-crm"
MARKETPLACES = "/api/v1/marketplaces"


@dataclass
class World:
    system: Principal
    member: Principal
    plugin_key: Principal
    clients: dict
    crm: object
    object_id: str
    marketplace_id: str
    release_id: str

    def share(self, resource_type, resource_id, role):
        access.grant(self.system, resource_type, resource_id, role, membership_id=self.member.membership.pk)


@pytest.fixture
def world(api, org, crm_plugin, member_key, plugin_key):
    system = Principal.system(org)
    obj, _ = bundles.create_config_object_in_plugins(system, "skill", "cloud", config_objects.VersionInput(SKILL_V1),
                                                     ["plugin-crm"])
    marketplace = marketplaces.create_marketplace(system, "Sales tools")
    marketplaces.add_plugin_to_marketplace(system, marketplace, crm_plugin)
    release = releases.create_release(system, "plugin-crm", name="1.0")
    return World(
        system=system,
        member=resolve_principal(member_key.key, None, org.slug),
        plugin_key=resolve_principal(plugin_key.key, None, org.slug),
        clients={"member": api(member_key.token), "plugin_key": api(plugin_key.token)},
        crm=crm_plugin, object_id=obj.pk, marketplace_id=marketplace.pk, release_id=release.pk,
    )


def _refusal(call):
    with pytest.raises(Forbidden) as refused:
        call()
    return {"code": refused.value.code, "message": refused.value.message, "details": refused.value.extra}


def _answer(client, method, url, body=None):
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    return {"code": error["code"], "message": error["message"], "details": error["details"]}


def _version_input():
    return config_objects.VersionInput(raw_source_text=SKILL_V2)


def _object(world):
    return ConfigObject.objects.get(pk=world.object_id)


def _marketplace(world):
    return marketplaces.lookup_marketplace(world.system.organization, world.marketplace_id)


# (name, who, grants {resource: role}, the service call, the API request doing the same)
CASES = [
    ("reading a config object without a grant", "member", {},
     lambda w, p: config_objects.get_config_object(p, w.object_id),
     lambda w: ("get", f"{BASE}/{w.object_id}")),
    ("comparing versions without a grant", "member", {},
     lambda w, p: config_objects.compare_versions(p, w.object_id, "ver_a", "ver_b"),
     lambda w: ("get", f"{BASE}/{w.object_id}/versions/compare?from=ver_a&to=ver_b")),
    ("creating a config object with a plugin key", "plugin_key", {},
     lambda w, p: config_objects.create_config_object(p, "skill", "cloud", _version_input()),
     lambda w: ("post", BASE, {"type": "skill", "input": {"rawSourceText": SKILL_V2}})),
    ("adding a version as a viewer", "member", {CONFIG_OBJECT: "viewer"},
     lambda w, p: config_objects.add_version(p, w.object_id, _version_input()),
     lambda w: ("post", f"{BASE}/{w.object_id}/versions", {"input": {"rawSourceText": SKILL_V2}})),
    ("deleting a config object as an editor", "member", {CONFIG_OBJECT: "editor"},
     lambda w, p: config_objects.delete_config_object(p, w.object_id),
     lambda w: ("delete", f"{BASE}/{w.object_id}")),
    ("archiving a config object as an editor", "member", {CONFIG_OBJECT: "editor"},
     lambda w, p: config_objects.archive_config_object(p, w.object_id),
     lambda w: ("post", f"{BASE}/{w.object_id}/archive")),
    ("adding a plugin to the catalog as a member", "member", {},
     lambda w, p: plugins.create_plugin(p, "plugin-billing", "Billing"),
     lambda w: ("post", "/api/v1/plugins", {"pluginId": "plugin-billing", "name": "Billing"})),
    ("reading a plugin without a grant", "member", {},
     lambda w, p: plugins.get_plugin(p, "plugin-crm"),
     lambda w: ("get", PLUGIN_CRM)),
    ("editing a plugin as a viewer", "member", {PLUGIN: "viewer"},
     lambda w, p: plugins.update_plugin(p, "plugin-crm", name="Mine"),
     lambda w: ("patch", PLUGIN_CRM, {"name": "Mine"})),
    ("archiving a plugin as an editor", "member", {PLUGIN: "editor"},
     lambda w, p: plugins.archive_plugin(p, "plugin-crm"),
     lambda w: ("post", f"{PLUGIN_CRM}/archive")),
    ("adding an object one only views to a plugin one edits", "member", {CONFIG_OBJECT: "viewer", PLUGIN: "editor"},
     lambda w, p: bundles.add_config_object_to_plugin(p, w.crm, _object(w)),
     lambda w: ("post", f"{PLUGIN_CRM}/config-objects", {"configObjectId": w.object_id})),
    ("removing a member of a plugin one only views", "member", {CONFIG_OBJECT: "editor", PLUGIN: "viewer"},
     lambda w, p: bundles.remove_config_object_from_plugin(p, w.crm, _object(w)),
     lambda w: ("delete", f"{PLUGIN_CRM}/config-objects/{w.object_id}")),
    ("changing a plugin's members with a plugin key", "plugin_key", {},
     lambda w, p: bundles.remove_config_object_from_plugin(p, w.crm, _object(w)),
     lambda w: ("delete", f"{BASE}/{w.object_id}/plugins/plugin-crm")),
    ("resolving a plugin without a grant", "member", {},
     lambda w, p: bundles.resolve_plugin(p, "plugin-crm"),
     lambda w: ("get", f"{PLUGIN_CRM}/resolved")),
    ("creating a marketplace as a member", "member", {},
     lambda w, p: marketplaces.create_marketplace(p, "Mine"),
     lambda w: ("post", MARKETPLACES, {"name": "Mine"})),
    ("editing a marketplace as a viewer", "member", {MARKETPLACE: "viewer"},
     lambda w, p: marketplaces.update_marketplace(p, w.marketplace_id, name="Mine"),
     lambda w: ("patch", f"{MARKETPLACES}/{w.marketplace_id}", {"name": "Mine"})),
    ("deleting a marketplace as an editor", "member", {MARKETPLACE: "editor"},
     lambda w, p: marketplaces.delete_marketplace(p, w.marketplace_id),
     lambda w: ("delete", f"{MARKETPLACES}/{w.marketplace_id}")),
    ("offering a plugin one only views", "member", {MARKETPLACE: "editor", PLUGIN: "viewer"},
     lambda w, p: marketplaces.add_plugin_to_marketplace(p, _marketplace(w), w.crm),
     lambda w: ("post", f"{MARKETPLACES}/{w.marketplace_id}/plugins", {"pluginId": "plugin-crm"})),
    ("removing a plugin from a marketplace one only views", "member", {MARKETPLACE: "viewer"},
     lambda w, p: marketplaces.remove_plugin_from_marketplace(p, _marketplace(w), w.crm),
     lambda w: ("delete", f"{MARKETPLACES}/{w.marketplace_id}/plugins/plugin-crm")),
    ("listing a marketplace's plugins without a grant", "member", {},
     lambda w, p: marketplaces.plugins_of_marketplace(p, w.marketplace_id),
     lambda w: ("get", f"{MARKETPLACES}/{w.marketplace_id}/plugins")),
    ("making a release as a plugin editor", "member", {PLUGIN: "editor"},
     lambda w, p: releases.create_release(p, "plugin-crm"),
     lambda w: ("post", f"{PLUGIN_CRM}/releases", {})),
    ("reading releases without a grant", "member", {},
     lambda w, p: releases.get_release(p, "plugin-crm", w.release_id),
     lambda w: ("get", f"{PLUGIN_CRM}/releases/{w.release_id}")),
    ("pinning a release with the plugin's own key", "plugin_key", {},
     lambda w, p: releases.pin_release(p, "plugin-crm", w.release_id),
     lambda w: ("post", f"{PLUGIN_CRM}/releases/{w.release_id}/pin")),
    ("installing a plugin without a grant", "member", {},
     lambda w, p: delivery.get_plugin(p, "plugin-crm"),
     lambda w: ("get", "/api/v1/delivery/plugins/plugin-crm")),
]


@pytest.mark.parametrize(("who", "grants", "service_call", "request_of"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_a_service_called_directly_refuses_as_the_api_does(world, who, grants, service_call, request_of):
    resources = {CONFIG_OBJECT: world.object_id, PLUGIN: world.crm.pk, MARKETPLACE: world.marketplace_id}
    for resource_type, role in grants.items():
        world.share(resource_type, resources[resource_type], role)
    principal = getattr(world, who)
    refused = _refusal(lambda: service_call(world, principal))
    assert refused["code"] in ("resource_access_denied", "org_capability_required")
    assert refused == _answer(world.clients[who], *request_of(world))


def test_the_rules_only_workers_meet_refuse_a_viewer_and_an_editor(world):
    world.share(CONFIG_OBJECT, world.object_id, "viewer")
    marked = _refusal(lambda: config_objects.mark_ingestion_error(world.member, world.object_id))
    assert marked["details"] == {"resourceType": "config_object", "resourceId": world.object_id,
                                 "requiredRole": "editor", "role": "viewer"}
    world.share(CONFIG_OBJECT, world.object_id, "editor")
    removed = _refusal(lambda: config_objects.record_deleted_version(world.member, world.object_id))
    assert removed["details"]["requiredRole"] == "manager" and removed["details"]["role"] == "editor"
    assert _object(world).status == ConfigObject.Status.ACTIVE and _object(world).deleted_at is None


def test_the_system_principal_passes_what_the_sync_worker_does(world):
    system = world.system
    obj, _ = config_objects.create_config_object(system, "skill", "connector", config_objects.VersionInput(SKILL_V1))
    membership, created = bundles.add_config_object_to_plugin(system, world.crm, obj)
    assert created and membership.is_active
    assert config_objects.mark_ingestion_error(system, obj.pk) == 1
    version, created = config_objects.add_version(system, obj.pk, _version_input())
    assert created and ConfigObject.objects.get(pk=obj.pk).status == ConfigObject.Status.ACTIVE
    assert config_objects.record_deleted_version(system, obj.pk).is_deleted_version
    assert ConfigObject.objects.get(pk=obj.pk).deleted_at is not None


def test_another_organizations_id_is_not_found_before_any_rule(world, other_org):
    user, _ = ensure_user("noah", password="correct-horse-battery")
    stranger = Principal(organization=other_org, membership=add_member(other_org, user)[0], user=user)
    for call in (lambda: config_objects.get_config_object(stranger, world.object_id),
                 lambda: config_objects.add_version(stranger, world.object_id, _version_input()),
                 lambda: config_objects.delete_config_object(stranger, world.object_id),
                 lambda: plugins.archive_plugin(stranger, "plugin-crm"),
                 lambda: bundles.resolve_plugin(stranger, "plugin-crm"),
                 lambda: marketplaces.delete_marketplace(stranger, world.marketplace_id),
                 lambda: releases.pin_release(stranger, "plugin-crm", world.release_id)):
        with pytest.raises(NotFound):
            call()
