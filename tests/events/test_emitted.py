"""Every app records its changes in the event log, in the transaction of the change.

One test per platform event type: the change made through the public service or API, then exactly one
event of that type with its subject, actor, data and (when a request was served) request id. Per app
family, a change that fails after its emit point leaves no event, and a call that changes nothing emits
nothing.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from connectors import queueing, sync
from connectors.models import SyncEvent
from connectors.queueing import claim_sync_event, queue_sync_event
from dependencies.lifecycle import Action, change_lifecycle
from dependencies.resolver import Dependency
from dependencies.services import register_dependencies
from marketplaces.catalog.services import marketplaces as marketplace_services
from marketplaces.config_objects import services as config_objects
from marketplaces.config_objects.models import ConfigObject
from marketplaces.delivery import releases
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.events import types
from plexica.events.models import Event
from plexica.plugins.models import Plugin
from plexica.plugins.services import ensure_plugin
from plexica.tenancy.models import ApiKey
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import issue_api_key, revoke_api_keys
from registry.models import PluginService, ServiceStatus
from registry.services import Registration, record_heartbeat, register_service, sweep_service_health
from tests.connectors.conftest import github, github_app, github_app_keys, github_server, github_target  # noqa: F401

REQUEST_ID = "req-emitted-1"
GATEWAY = "/api/plugin-gateway"
V1 = "/api/v1"


def events_of(org, type_):
    return list(Event.objects.filter(organization=org, type=type_).order_by("position"))


def only_event(org, type_):
    """The one event of `type_` in `org` (fails when there are none or several)."""
    found = events_of(org, type_)
    assert len(found) == 1, f"expected one {type_} event, found {len(found)}"
    return found[0]


def key_actor(issued):
    return {"type": "key", "id": issued.key.pk}


@pytest.fixture
def acme(api, org_key):
    """An org-key client of acme-corp whose requests carry REQUEST_ID."""
    client = api(org_key.token)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {org_key.token}", HTTP_X_TENANT_SLUG="acme-corp",
                       HTTP_X_REQUEST_ID=REQUEST_ID)
    return client


class Boom(Exception):
    """The failure after the emit point that must take the event with it."""


def test_every_emitted_type_is_registered_with_its_subject_type():
    for name, subject in [
        ("plugin.registered", "plugin"), ("plugin.installed", "plugin"), ("plugin.enabled", "plugin"),
        ("plugin.disabled", "plugin"), ("plugin.uninstalled", "plugin"), ("service.registered", "service"),
        ("service.deregistered", "service"), ("service.status_changed", "service"),
        ("dependencies.registered", "plugin"), ("config_object.created", "config_object"),
        ("config_object.version_created", "config_object"), ("config_object.archived", "config_object"),
        ("config_object.deleted", "config_object"), ("config_object.restored", "config_object"),
        ("marketplace.created", "marketplace"), ("marketplace.updated", "marketplace"),
        ("marketplace.archived", "marketplace"), ("marketplace.restored", "marketplace"),
        ("marketplace.deleted", "marketplace"), ("marketplace.plugin_added", "marketplace"),
        ("marketplace.plugin_removed", "marketplace"), ("bundle.config_object_added", "plugin"),
        ("bundle.config_object_removed", "plugin"), ("release.created", "release"), ("release.pinned", "release"),
        ("release.unpinned", "release"), ("access.granted", "access_grant"), ("access.revoked", "access_grant"),
        ("api_key.created", "api_key"), ("api_key.revoked", "api_key"),
        ("connector.sync_completed", "connector_instance"), ("connector.sync_failed", "connector_instance"),
    ]:
        registered = types.get(name)
        assert registered is not None, name
        assert registered.subject_type == subject and registered.description


# --- plugins ---------------------------------------------------------------------------------------


def test_creating_a_plugin_in_the_catalog_emits_plugin_registered(acme, org, org_key):
    response = acme.post(f"{V1}/plugins", {"pluginId": "plugin-mail", "name": "Mail", "version": "1.2.0"},
                         format="json")
    assert response.status_code == 201
    event = only_event(org, "plugin.registered")
    assert event.subject == {"type": "plugin", "id": "plugin-mail"}
    assert event.actor == key_actor(org_key)
    assert event.data == {"pluginId": "plugin-mail", "name": "Mail", "version": "1.2.0", "via": "catalog"}
    assert event.request_id == REQUEST_ID


def test_an_operator_adding_a_plugin_emits_plugin_registered_as_the_system(org):
    ensure_plugin(org, "plugin-ops")
    event = only_event(org, "plugin.registered")
    assert event.actor == {"type": "system", "id": "system"} and event.data["via"] == "operator"
    ensure_plugin(org, "plugin-ops")  # exists already: nothing changes, nothing is emitted
    assert len(events_of(org, "plugin.registered")) == 1


@pytest.mark.parametrize(("action", "path", "event_type", "from_state", "to_state"), [
    ("install", "install", "plugin.installed", "registered", "installed"),
    ("enable", "enable", "plugin.enabled", "installed", "active"),
    ("disable", "disable", "plugin.disabled", "active", "disabled"),
    ("uninstall", "uninstall", "plugin.uninstalled", "disabled", "uninstalled"),
])
def test_each_lifecycle_move_emits_its_event(acme, org, org_key, crm_plugin, action, path, event_type, from_state,
                                             to_state):
    Plugin.objects.filter(pk=crm_plugin.pk).update(lifecycle_state=from_state)
    body = {"version": "1.1.0"} if action == "install" else {}
    assert acme.post(f"{V1}/plugins/plugin-crm/{path}", body, format="json").status_code == 200
    event = only_event(org, event_type)
    assert event.subject == {"type": "plugin", "id": "plugin-crm"}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data == {"pluginId": "plugin-crm", "name": "CRM",
                          "version": "1.1.0" if action == "install" else "1.0.0",
                          "fromState": from_state, "toState": to_state, "via": "api"}


def test_a_refused_lifecycle_move_emits_nothing(acme, org, crm_plugin):
    assert acme.post(f"{V1}/plugins/plugin-crm/disable", {}, format="json").status_code == 409
    assert not Event.objects.filter(organization=org, type__startswith="plugin.").exists()


def test_a_lifecycle_move_rolled_back_after_its_emit_leaves_no_event(org, crm_plugin):
    with pytest.raises(Boom), transaction.atomic():
        change_lifecycle(Principal.system(org), "plugin-crm", Action.INSTALL)
        assert len(events_of(org, "plugin.installed")) == 1
        raise Boom
    assert not events_of(org, "plugin.installed")
    assert Plugin.objects.get(pk=crm_plugin.pk).lifecycle_state == Plugin.LifecycleState.REGISTERED


# --- registry --------------------------------------------------------------------------------------

SERVICE_BODY = {"pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
                "baseUrl": "http://localhost:3100",
                "endpoints": [{"method": "GET", "path": "/contacts", "permissions": ["crm:contacts:read"]}]}


def test_registering_a_service_emits_service_registered(api, org, plugin_key):
    client = api(plugin_key.token)
    response = client.post(f"{GATEWAY}/services/register", SERVICE_BODY, format="json",
                           HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 201
    service = PluginService.objects.get(organization=org)
    event = only_event(org, "service.registered")
    assert event.subject == {"type": "service", "id": service.pk}
    assert event.actor == {"type": "plugin", "id": "plugin-crm"} and event.request_id == REQUEST_ID
    assert event.data == {"serviceId": service.pk, "serviceName": "crm.contacts", "pluginId": "plugin-crm",
                          "version": "1.0.0", "baseUrl": "http://localhost:3100", "created": True}


def test_registering_the_same_service_again_emits_nothing_and_a_new_version_emits_again(api, org, plugin_key):
    client = api(plugin_key.token)
    for body in (SERVICE_BODY, SERVICE_BODY):
        assert client.post(f"{GATEWAY}/services/register", body, format="json").status_code == 201
    assert len(events_of(org, "service.registered")) == 1
    endpoints = [*SERVICE_BODY["endpoints"], {"method": "POST", "path": "/contacts"}]
    assert client.post(f"{GATEWAY}/services/register", {**SERVICE_BODY, "endpoints": endpoints},
                       format="json").status_code == 201
    assert client.post(f"{GATEWAY}/services/register", {**SERVICE_BODY, "endpoints": endpoints, "version": "1.1.0"},
                       format="json").status_code == 201
    later = events_of(org, "service.registered")[1:]
    assert [(e.data["version"], e.data["created"]) for e in later] == [("1.0.0", False), ("1.1.0", False)]


def test_a_service_registered_by_a_new_plugin_registers_the_plugin_too(org, org_key):
    register_service(Principal.system(org), Registration("plugin-new", "new.api", "0.1.0"))
    event = only_event(org, "plugin.registered")
    assert event.data == {"pluginId": "plugin-new", "name": "new", "version": "0.1.0", "via": "registry"}
    assert only_event(org, "service.registered").position > event.position


def test_deregistering_a_service_emits_service_deregistered(api, org, plugin_key):
    client = api(plugin_key.token)
    assert client.post(f"{GATEWAY}/services/register", SERVICE_BODY, format="json").status_code == 201
    service_id = PluginService.objects.get(organization=org).pk
    response = client.delete(f"{GATEWAY}/services/plugin-crm/crm.contacts", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 200
    event = only_event(org, "service.deregistered")
    assert event.subject == {"type": "service", "id": service_id}
    assert event.actor == {"type": "plugin", "id": "plugin-crm"} and event.request_id == REQUEST_ID
    assert event.data == {"serviceId": service_id, "serviceName": "crm.contacts", "pluginId": "plugin-crm",
                          "version": "1.0.0", "cause": "deregister"}
    assert client.delete(f"{GATEWAY}/services/plugin-crm/crm.contacts").status_code == 404
    assert len(events_of(org, "service.deregistered")) == 1


def test_uninstalling_a_plugin_deregisters_its_services_with_their_events(org, crm_plugin):
    system = Principal.system(org)
    register_service(system, Registration("plugin-crm", "crm.contacts", "1.0.0"))
    change_lifecycle(system, "plugin-crm", Action.INSTALL)
    change_lifecycle(system, "plugin-crm", Action.UNINSTALL)
    deregistered, uninstalled = only_event(org, "service.deregistered"), only_event(org, "plugin.uninstalled")
    assert deregistered.position < uninstalled.position


def test_a_heartbeat_that_revives_a_service_emits_one_status_change_and_a_healthy_one_emits_nothing(
    api, org, plugin_key
):
    client = api(plugin_key.token)
    assert client.post(f"{GATEWAY}/services/register", SERVICE_BODY, format="json").status_code == 201
    service_id = PluginService.objects.get(organization=org).pk
    assert client.post(f"{GATEWAY}/services/{service_id}/heartbeat").status_code == 200
    assert not events_of(org, "service.status_changed")
    PluginService.objects.filter(pk=service_id).update(status=ServiceStatus.DEGRADED)
    response = client.post(f"{GATEWAY}/services/{service_id}/heartbeat", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 200
    event = only_event(org, "service.status_changed")
    assert event.subject == {"type": "service", "id": service_id}
    assert event.actor == {"type": "plugin", "id": "plugin-crm"} and event.request_id == REQUEST_ID
    assert event.data == {"serviceId": service_id, "serviceName": "crm.contacts", "pluginId": "plugin-crm",
                          "fromStatus": "DEGRADED", "toStatus": "HEALTHY", "cause": "heartbeat"}
    assert client.post(f"{GATEWAY}/services/{service_id}/heartbeat").status_code == 200
    assert len(events_of(org, "service.status_changed")) == 1


def test_the_health_sweep_emits_each_persisted_transition_once_as_the_system(org, other_org):
    now = timezone.now()
    for organization in (org, other_org):
        register_service(Principal.system(organization), Registration("plugin-crm", "crm.contacts", "1.0.0"),
                         now=now)
    later = now + timedelta(minutes=3)
    assert sweep_service_health(now=later) == {ServiceStatus.DEGRADED: 2}
    assert sweep_service_health(now=later) == {}  # nothing changes: nothing is emitted
    for organization in (org, other_org):
        event = only_event(organization, "service.status_changed")
        assert event.actor == {"type": "system", "id": "system"} and event.request_id == ""
        assert (event.data["fromStatus"], event.data["toStatus"], event.data["cause"]) == (
            "HEALTHY", "DEGRADED", "sweep")


@override_settings(REGISTRY_DEREGISTER_AFTER=3600)
def test_the_sweep_deregistering_a_stale_service_emits_service_deregistered(org):
    now = timezone.now()
    service, _ = register_service(Principal.system(org), Registration("plugin-crm", "crm.contacts", "1.0.0"),
                                  now=now)
    changed = sweep_service_health(now=now + timedelta(hours=2))
    assert changed["deregistered"] == 1
    event = only_event(org, "service.deregistered")
    assert event.subject == {"type": "service", "id": service.pk}
    assert event.actor == {"type": "system", "id": "system"} and event.data["cause"] == "sweep"


def test_a_registration_rolled_back_after_its_emit_leaves_no_event(org, crm_plugin):
    with pytest.raises(Boom), transaction.atomic():
        service, _ = register_service(Principal.system(org), Registration("plugin-crm", "crm.contacts", "1.0.0"))
        assert len(events_of(org, "service.registered")) == 1
        raise Boom
    assert not PluginService.objects.exists() and not events_of(org, "service.registered")


def test_a_revival_rolled_back_after_its_emit_leaves_no_event(org, crm_plugin):
    system = Principal.system(org)
    service, _ = register_service(system, Registration("plugin-crm", "crm.contacts", "1.0.0"))
    PluginService.objects.filter(pk=service.pk).update(status=ServiceStatus.UNAVAILABLE)
    with pytest.raises(Boom), transaction.atomic():
        record_heartbeat(system, service.pk)
        raise Boom
    assert not events_of(org, "service.status_changed")
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.UNAVAILABLE


# --- dependencies ----------------------------------------------------------------------------------


def test_registering_dependencies_emits_one_event_per_plugin_whose_list_changed(api, org, org_key):
    client = api(org_key.token)
    body = {"dependencies": [
        {"pluginId": "plugin-analytics", "dependsOnPluginId": "plugin-crm", "version": "^1.0.0"},
        {"pluginId": "plugin-analytics", "dependsOnPluginId": "plugin-mail", "version": ">=2.0.0", "required": False},
    ]}
    response = client.post(f"{GATEWAY}/dependencies", body, format="json", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 201
    event = only_event(org, "dependencies.registered")
    assert event.subject == {"type": "plugin", "id": "plugin-analytics"}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data == {"pluginId": "plugin-analytics", "dependencies": [
        {"pluginId": "plugin-crm", "version": "^1.0.0", "required": True},
        {"pluginId": "plugin-mail", "version": ">=2.0.0", "required": False},
    ]}
    assert only_event(org, "plugin.registered").data["via"] == "dependencies"
    assert client.post(f"{GATEWAY}/dependencies", body, format="json").status_code == 201
    assert len(events_of(org, "dependencies.registered")) == 1  # the same list again: nothing changed


def test_dependencies_rolled_back_after_their_emit_leave_no_event(org):
    with pytest.raises(Boom), transaction.atomic():
        register_dependencies(Principal.system(org), [Dependency("plugin-a", "plugin-b", "^1.0.0")])
        assert len(events_of(org, "dependencies.registered")) == 1
        raise Boom
    assert not Event.objects.filter(organization=org).exclude(type="api_key.created").exists()


# --- config objects --------------------------------------------------------------------------------

OBJECTS = f"{V1}/config-objects"
SKILL_V1 = "---\nname: Summarize tickets\ndescription: Three bullets.\n---\nRead the thread.\n"
SKILL_V2 = SKILL_V1.replace("Read the thread.", "Read the thread twice.")


def create_object(client, raw=SKILL_V1):
    body = {"type": "skill", "sourceMode": "cloud", "input": {"rawSourceText": raw}}
    response = client.post(OBJECTS, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["item"]


def test_creating_a_config_object_emits_config_object_created(acme, org, org_key):
    item = create_object(acme)
    event = only_event(org, "config_object.created")
    assert event.subject == {"type": "config_object", "id": item["id"]}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    version_id = ConfigObject.objects.get(pk=item["id"]).latest_version().pk
    assert event.data == {"configObjectId": item["id"], "type": "skill", "title": "Summarize tickets",
                          "sourceMode": "cloud", "versionId": version_id}


def test_a_new_version_emits_version_created_and_the_same_content_emits_nothing(acme, org):
    item = create_object(acme)
    first = ConfigObject.objects.get(pk=item["id"]).latest_version().pk
    assert acme.post(f"{OBJECTS}/{item['id']}/versions", {"input": {"rawSourceText": SKILL_V2}},
                     format="json").status_code == 201
    assert acme.post(f"{OBJECTS}/{item['id']}/versions", {"input": {"rawSourceText": SKILL_V2}},
                     format="json").status_code == 200
    event = only_event(org, "config_object.version_created")
    latest = ConfigObject.objects.get(pk=item["id"]).latest_version().pk
    assert event.subject == {"type": "config_object", "id": item["id"]} and event.request_id == REQUEST_ID
    assert event.data == {"configObjectId": item["id"], "type": "skill", "title": "Summarize tickets",
                          "versionId": latest, "createdVia": "cloud", "previousVersionId": first}


def test_archiving_deleting_and_restoring_emit_once_each(acme, org):
    item = create_object(acme)
    url = f"{OBJECTS}/{item['id']}"
    assert acme.post(f"{url}/archive").status_code == 200
    assert acme.post(f"{url}/archive").status_code == 200  # archived already: nothing changes
    archived = only_event(org, "config_object.archived")
    assert archived.data["fromStatus"] == "active" and archived.request_id == REQUEST_ID
    assert acme.delete(url).status_code in (200, 204)
    deleted = only_event(org, "config_object.deleted")
    assert (deleted.data["fromStatus"], deleted.data["sourceRemoved"]) == ("archived", False)
    assert acme.post(f"{url}/restore").status_code == 200
    restored = only_event(org, "config_object.restored")
    assert restored.subject == {"type": "config_object", "id": item["id"]}
    assert (restored.data["fromStatus"], restored.data["versionId"]) == ("deleted", None)


def test_a_removed_source_deletes_the_object_with_one_event_and_restoring_names_the_new_version(org):
    system = Principal.system(org)
    obj, _ = config_objects.create_config_object(system, "skill", ConfigObject.SourceMode.CONNECTOR,
                                                 config_objects.VersionInput(raw_source_text=SKILL_V1))
    version = config_objects.record_deleted_version(system, obj.pk, source_revision="abc")
    assert config_objects.record_deleted_version(system, obj.pk) is None  # deleted already
    event = only_event(org, "config_object.deleted")
    assert event.actor == {"type": "system", "id": "system"}
    assert (event.data["sourceRemoved"], event.data["versionId"]) == (True, version.pk)
    config_objects.restore_config_object(system, obj.pk)
    assert only_event(org, "config_object.restored").data["versionId"] == obj.latest_version().pk


def test_a_refused_change_of_a_config_object_emits_nothing(api, org, member_key, acme):
    item = create_object(acme)
    assert api(member_key.token).post(f"{OBJECTS}/{item['id']}/archive").status_code == 403
    assert not events_of(org, "config_object.archived")


def test_a_config_object_change_rolled_back_after_its_emit_leaves_no_event(org):
    system = Principal.system(org)
    with pytest.raises(Boom), transaction.atomic():
        config_objects.create_config_object(system, "skill", ConfigObject.SourceMode.CLOUD,
                                            config_objects.VersionInput(raw_source_text=SKILL_V1))
        assert len(events_of(org, "config_object.created")) == 1
        raise Boom
    assert not ConfigObject.objects.exists() and not events_of(org, "config_object.created")


# --- marketplaces and bundles ----------------------------------------------------------------------

MARKETPLACES = f"{V1}/marketplaces"


def test_marketplace_changes_emit_their_events(acme, org, org_key):
    response = acme.post(MARKETPLACES, {"name": "Sales"}, format="json")
    assert response.status_code == 201
    marketplace_id = response.json()["item"]["id"]
    created = only_event(org, "marketplace.created")
    assert created.subject == {"type": "marketplace", "id": marketplace_id}
    assert created.actor == key_actor(org_key) and created.request_id == REQUEST_ID
    assert created.data == {"marketplaceId": marketplace_id, "name": "Sales"}
    url = f"{MARKETPLACES}/{marketplace_id}"
    assert acme.patch(url, {"description": "Tools for sales"}, format="json").status_code == 200
    assert acme.patch(url, {"description": "Tools for sales"}, format="json").status_code == 200
    assert only_event(org, "marketplace.updated").data == {"marketplaceId": marketplace_id, "name": "Sales",
                                                           "changed": ["description"]}
    assert acme.post(f"{url}/archive").status_code == 200
    assert acme.post(f"{url}/archive").status_code == 200
    assert only_event(org, "marketplace.archived").data["marketplaceId"] == marketplace_id
    assert acme.delete(url).status_code == 204
    assert only_event(org, "marketplace.deleted").subject == {"type": "marketplace", "id": marketplace_id}
    assert acme.post(f"{url}/restore").status_code == 200
    assert only_event(org, "marketplace.restored").data["fromStatus"] == "deleted"


def test_offering_and_withdrawing_a_plugin_emit_once_each(acme, org, crm_plugin):
    marketplace_id = acme.post(MARKETPLACES, {"name": "Sales"}, format="json").json()["item"]["id"]
    url = f"{MARKETPLACES}/{marketplace_id}/plugins"
    assert acme.post(url, {"pluginId": "plugin-crm"}, format="json").status_code == 201
    acme.post(url, {"pluginId": "plugin-crm"}, format="json")  # offered already: nothing changes
    added = only_event(org, "marketplace.plugin_added")
    assert added.subject == {"type": "marketplace", "id": marketplace_id} and added.request_id == REQUEST_ID
    assert added.data == {"marketplaceId": marketplace_id, "name": "Sales", "pluginId": "plugin-crm",
                          "source": "api"}
    assert acme.delete(f"{url}/plugin-crm").status_code == 204
    assert acme.delete(f"{url}/plugin-crm").status_code == 404
    removed = only_event(org, "marketplace.plugin_removed")
    assert removed.data == {"marketplaceId": marketplace_id, "name": "Sales", "pluginId": "plugin-crm"}


def test_adding_and_removing_a_bundle_member_emit_once_each(acme, org, org_key, crm_plugin):
    item = create_object(acme)
    url = f"{OBJECTS}/{item['id']}/plugins"
    assert acme.post(url, {"pluginId": "plugin-crm"}, format="json").status_code == 201
    acme.post(url, {"pluginId": "plugin-crm"}, format="json")  # a member already: nothing changes
    added = only_event(org, "bundle.config_object_added")
    assert added.subject == {"type": "plugin", "id": "plugin-crm"}
    assert added.actor == key_actor(org_key) and added.request_id == REQUEST_ID
    assert added.data == {"pluginId": "plugin-crm", "configObjectId": item["id"], "configObjectType": "skill",
                          "source": "api"}
    assert acme.delete(f"{url}/plugin-crm").status_code == 204
    assert acme.delete(f"{url}/plugin-crm").status_code == 404
    removed = only_event(org, "bundle.config_object_removed")
    assert removed.data == {"pluginId": "plugin-crm", "configObjectId": item["id"], "configObjectType": "skill"}


def test_a_marketplace_change_rolled_back_after_its_emit_leaves_no_event(org):
    with pytest.raises(Boom), transaction.atomic():
        marketplace_services.create_marketplace(Principal.system(org), "Sales")
        assert len(events_of(org, "marketplace.created")) == 1
        raise Boom
    assert not events_of(org, "marketplace.created")


# --- releases --------------------------------------------------------------------------------------

RELEASES = f"{V1}/plugins/plugin-crm/releases"


def test_making_a_release_emits_release_created(acme, org, org_key, crm_plugin):
    item = create_object(acme)
    acme.post(f"{OBJECTS}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    response = acme.post(RELEASES, {"name": "2026.12"}, format="json")
    assert response.status_code == 201
    release_id = response.json()["item"]["id"]
    event = only_event(org, "release.created")
    assert event.subject == {"type": "release", "id": release_id}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data == {"releaseId": release_id, "pluginId": "plugin-crm", "name": "2026.12", "itemCount": 1}
    assert not events_of(org, "release.pinned")


def test_pinning_emits_release_pinned_once_and_unpinning_release_unpinned(acme, org, crm_plugin):
    first = acme.post(RELEASES, {"name": "one", "pin": True}, format="json").json()["item"]["id"]
    assert only_event(org, "release.pinned").data == {"releaseId": first, "pluginId": "plugin-crm", "name": "one",
                                                      "previousReleaseId": None}
    second = acme.post(RELEASES, {"name": "two"}, format="json").json()["item"]["id"]
    assert acme.post(f"{RELEASES}/{second}/pin").status_code == 200
    assert acme.post(f"{RELEASES}/{second}/pin").status_code == 200  # pinned already: nothing changes
    pinned = events_of(org, "release.pinned")
    assert [e.subject["id"] for e in pinned] == [first, second]
    assert pinned[1].data["previousReleaseId"] == first and pinned[1].request_id == REQUEST_ID
    assert acme.post(f"{RELEASES}/unpin").status_code == 200
    acme.post(f"{RELEASES}/unpin")  # nothing pinned: nothing changes
    unpinned = only_event(org, "release.unpinned")
    assert unpinned.data == {"releaseId": second, "pluginId": "plugin-crm", "name": "two"}


def test_a_release_rolled_back_after_its_emit_leaves_no_event(org, crm_plugin):
    with pytest.raises(Boom), transaction.atomic():
        releases.create_release(Principal.system(org), "plugin-crm", name="x", pin=True)
        assert len(events_of(org, "release.pinned")) == 1
        raise Boom
    assert not Event.objects.filter(organization=org, type__startswith="release.").exists()


# --- access ----------------------------------------------------------------------------------------


def test_granting_emits_access_granted_and_a_new_role_emits_again(acme, org, org_key, member):
    item = create_object(acme)
    url = f"{OBJECTS}/{item['id']}/grants"
    response = acme.post(url, {"orgMembershipId": member.pk, "role": "viewer"}, format="json")
    assert response.status_code == 201
    grant_id = response.json()["item"]["id"]
    acme.post(url, {"orgMembershipId": member.pk, "role": "viewer"}, format="json")  # the same role: no change
    event = only_event(org, "access.granted")
    assert event.subject == {"type": "access_grant", "id": grant_id}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data == {"grantId": grant_id, "resourceType": "config_object", "resourceId": item["id"],
                          "role": "viewer", "grantee": {"type": "member", "id": member.pk}, "previousRole": None}
    acme.post(url, {"orgMembershipId": member.pk, "role": "editor"}, format="json")
    changed = events_of(org, "access.granted")[1]
    assert (changed.data["role"], changed.data["previousRole"]) == ("editor", "viewer")


def test_a_grant_on_a_plugin_names_it_by_its_plugin_id(org, crm_plugin):
    access.grant(Principal.system(org), "plugin", crm_plugin.pk, "viewer", org_wide=True)
    event = only_event(org, "access.granted")
    assert event.data["resourceId"] == "plugin-crm"
    assert event.data["grantee"] == {"type": "organization", "id": org.pk}


def test_revoking_emits_access_revoked_once(acme, org, org_key, member):
    item = create_object(acme)
    url = f"{OBJECTS}/{item['id']}/grants"
    grant_id = acme.post(url, {"orgMembershipId": member.pk, "role": "viewer"}, format="json").json()["item"]["id"]
    assert acme.delete(f"{url}/{grant_id}").status_code == 204
    assert acme.delete(f"{url}/{grant_id}").status_code == 404
    event = only_event(org, "access.revoked")
    assert event.subject == {"type": "access_grant", "id": grant_id}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data["role"] == "viewer" and event.data["resourceId"] == item["id"]


def test_a_member_creating_an_object_is_granted_manager_with_its_event(org, member):
    principal = Principal(organization=org, membership=member, user=member.user)
    obj, _ = config_objects.create_config_object(principal, "skill", ConfigObject.SourceMode.CLOUD,
                                                 config_objects.VersionInput(raw_source_text=SKILL_V1))
    event = only_event(org, "access.granted")
    assert event.actor == {"type": "member", "id": "mia"} and event.data["role"] == "manager"
    assert only_event(org, "config_object.created").position < event.position


def test_a_grant_rolled_back_after_its_emit_leaves_no_event(org, crm_plugin):
    with pytest.raises(Boom), transaction.atomic():
        access.grant(Principal.system(org), "plugin", crm_plugin.pk, "viewer", org_wide=True)
        raise Boom
    assert not AccessGrant.objects.exists() and not events_of(org, "access.granted")


# --- API keys --------------------------------------------------------------------------------------


def test_creating_an_api_key_emits_api_key_created_without_its_token(acme, org, org_key):
    response = acme.post(f"{V1}/api-keys", {"name": "ci", "scopes": ["api:read"]}, format="json")
    assert response.status_code == 201
    item = response.json()["item"]
    event = Event.objects.get(organization=org, type="api_key.created", subject_id=item["id"])
    assert event.subject == {"type": "api_key", "id": item["id"]}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data == {"keyId": item["id"], "name": "ci", "prefix": item["prefix"], "kind": "organization",
                          "pluginId": None, "membershipId": None, "scopes": ["api:read"], "expiresAt": None}
    key = ApiKey.objects.get(pk=item["id"])
    assert item["token"] not in str(event.data) and key.key_hash not in str(event.data)


def test_an_operator_issuing_a_key_emits_api_key_created_as_the_system(org, crm_plugin):
    key, _ = issue_api_key(org, name="crm", plugin=crm_plugin)
    event = Event.objects.get(organization=org, type="api_key.created", subject_id=key.pk)
    assert event.actor == {"type": "system", "id": "system"}
    assert (event.data["kind"], event.data["pluginId"]) == ("plugin", "plugin-crm")


def test_revoking_an_api_key_emits_api_key_revoked_once(acme, org, org_key):
    key, _ = issue_api_key(org, name="ci")
    assert acme.post(f"{V1}/api-keys/{key.pk}/revoke").status_code == 200
    assert acme.post(f"{V1}/api-keys/{key.pk}/revoke").status_code == 200  # revoked already: nothing changes
    event = only_event(org, "api_key.revoked")
    assert event.subject == {"type": "api_key", "id": key.pk}
    assert event.actor == key_actor(org_key) and event.request_id == REQUEST_ID
    assert event.data["keyId"] == key.pk and event.data["prefix"] == key.prefix


def test_a_revocation_rolled_back_after_its_emit_leaves_no_event(org):
    key, _ = issue_api_key(org, name="ci")
    with pytest.raises(Boom), transaction.atomic():
        assert revoke_api_keys(ApiKey.objects.filter(pk=key.pk)) == 1
        raise Boom
    assert not events_of(org, "api_key.revoked") and ApiKey.objects.get(pk=key.pk).revoked_at is None


# --- connector syncs -------------------------------------------------------------------------------


@pytest.fixture
def repo(github):
    repo = github.repository("acme/config", installation_id=101)
    repo.commit({"skills/a.md": "# A\n", "skills/b.md": "# B\n"})
    return repo


def resync(target):
    return queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)[0]


def test_a_completed_sync_emits_connector_sync_completed_as_the_system(repo, github_target, org):
    target = github_target(repo)
    outcome = sync.run_sync_event(resync(target).pk)
    assert outcome.status == SyncEvent.Status.COMPLETED
    event = only_event(org, "connector.sync_completed")
    assert event.subject == {"type": "connector_instance", "id": target.instance_id}
    assert event.actor == {"type": "system", "id": "system"}
    assert event.data == {"instanceId": target.instance_id, "targetId": target.pk, "syncEventId": outcome.pk,
                          "repository": "acme/config", "branch": target.branch, "trigger": "manual",
                          "status": "completed", "revision": repo.head(), "created": 2, "updated": 0,
                          "deleted": 0, "skipped": 0, "errorCount": 0}
    assert len(events_of(org, "config_object.created")) == 2  # the synced files' own events
    sync.run_sync_event(resync(target).pk)
    assert events_of(org, "connector.sync_completed")[1].data["created"] == 0


def test_a_sync_that_gives_up_emits_connector_sync_failed(repo, github_target, org, settings):
    settings.GITHUB_SYNC_MAX_ATTEMPTS = 2
    event = resync(github_target(repo))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(2):  # two workers claim it and die: no outcome, no event
            assert claim_sync_event(event.pk) is not None
            clock.shift(queueing.SYNC_LEASE + timedelta(seconds=1))
        assert not events_of(org, "connector.sync_failed")
        outcome = sync.run_sync_event(event.pk)
    assert outcome.status == SyncEvent.Status.FAILED
    failed = only_event(org, "connector.sync_failed")
    assert failed.data["syncEventId"] == event.pk and failed.data["attempts"] == 3
    assert failed.data["error"].startswith("Gave up after 2 attempts")
    assert not events_of(org, "connector.sync_completed")


def test_a_sync_outcome_that_fails_to_be_written_leaves_no_event(repo, github_target, org, monkeypatch):
    target = github_target(repo)

    def broken(event, status, now, revision=None):
        raise Boom  # the instance's row cannot be written, after the sync event's outcome was

    monkeypatch.setattr(sync, "_record_instance", broken)
    with pytest.raises(Boom):
        sync.run_sync_event(resync(target).pk)
    assert not events_of(org, "connector.sync_completed")
    assert SyncEvent.objects.get().status == SyncEvent.Status.RUNNING
