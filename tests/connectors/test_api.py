from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors import matching
from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SourceBinding,
    SyncEvent,
)
from connectors.services import accounts, instances, mappings, targets, validation
from marketplaces.config_objects.models import ConfigObject
from plexica.errors import Conflict, Invalid
from plexica.plugins.models import Plugin
from tests.connectors import factories
from tests.connectors.factories import API, principal

ACCOUNTS = f"{API}/connector-accounts"
INSTANCES = f"{API}/connector-instances"
TARGETS = f"{API}/connector-targets"
MAPPINGS = f"{API}/connector-mappings"
EVENTS = f"{API}/connector-sync-events"


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


@pytest.fixture
def target(org):
    return factories.target(org, mappings=[("sales/skills/**", "skill")])


def _error(response, status):
    assert response.status_code == status, response.json()
    return response.json()["error"]


# --- accounts ---------------------------------------------------------------------------------------------


def test_connecting_an_account_is_201_with_the_mutation_envelope(admin_api, org):
    body = {"installationId": 777, "accountLogin": "acme", "accountType": "Organization",
            "displayName": "Acme"}
    response = admin_api.post(ACCOUNTS, body, format="json")
    assert response.status_code == 201 and response.json()["ok"] is True
    item = response.json()["item"]
    assert item["id"].startswith("cac_")
    assert (item["installationId"], item["accountLogin"], item["accountType"], item["displayName"]) == (
        777, "acme", "Organization", "Acme")
    assert (item["status"], item["provider"], item["instanceCount"], item["disconnectedAt"]) == (
        "active", "github", 0, None)
    assert ConnectorAccount.objects.get(pk=item["id"]).organization == org
    assert admin_api.get(f"{ACCOUNTS}/{item['id']}").json()["item"] == item


@pytest.mark.parametrize("body", [
    {}, {"installationId": 0}, {"installationId": -5}, {"installationId": "many"}, {"installationId": 2**64},
    {"installationId": 5, "accountType": "Robot"},
])
def test_an_account_without_a_valid_installation_is_400_naming_the_field(admin_api, body):
    error = _error(admin_api.post(ACCOUNTS, body, format="json"), 400)
    assert error["code"] == "validation_error"
    assert ("accountType" if "accountType" in body else "installationId") in error["message"]
    assert not ConnectorAccount.objects.exists()


def test_connecting_a_connected_installation_again_is_409_and_a_disconnected_one_is_reconnected(admin_api):
    first = admin_api.post(ACCOUNTS, {"installationId": 9}, format="json").json()["item"]
    error = _error(admin_api.post(ACCOUNTS, {"installationId": 9}, format="json"), 409)
    assert "already connected" in error["message"] and error["details"] == {"accountId": first["id"]}

    disconnected = admin_api.post(f"{ACCOUNTS}/{first['id']}/disconnect")
    assert disconnected.status_code == 200
    assert disconnected.json()["item"]["status"] == "disconnected"
    assert disconnected.json()["item"]["disconnectedAt"] is not None
    again = admin_api.post(f"{ACCOUNTS}/{first['id']}/disconnect")  # idempotent
    assert again.json()["item"]["disconnectedAt"] == disconnected.json()["item"]["disconnectedAt"]

    reconnected = admin_api.post(ACCOUNTS, {"installationId": 9, "accountLogin": "acme"}, format="json")
    assert reconnected.status_code == 200
    item = reconnected.json()["item"]
    assert (item["id"], item["status"], item["disconnectedAt"], item["accountLogin"]) == (
        first["id"], "active", None, "acme")
    assert ConnectorAccount.objects.count() == 1


@pytest.mark.parametrize("theirs_disconnected", [False, True])
def test_an_installation_another_organization_holds_is_409_without_naming_it_and_stores_nothing(
    admin_api, other_org, theirs_disconnected
):
    theirs = factories.account(other_org, installation_id=4321)
    if theirs_disconnected:  # GitHub never reuses an installation id: a disconnected account still holds it
        accounts.disconnect_account(principal(other_org), theirs.pk)
    response = admin_api.post(ACCOUNTS, {"installationId": 4321, "accountLogin": "acme"}, format="json")
    error = _error(response, 409)
    assert error["message"] == "This installation is connected to another organization."
    assert error["details"] == {"field": "installationId"}
    assert theirs.pk not in response.content.decode() and str(other_org.pk) not in response.content.decode()
    assert list(ConnectorAccount.objects.values_list("pk", "organization_id")) == [(theirs.pk, other_org.pk)]
    theirs.refresh_from_db()
    assert theirs.status == ("disconnected" if theirs_disconnected else "active")


def test_a_concurrent_connect_that_loses_the_unique_constraint_is_409(org, other_org, monkeypatch):
    # Both requests looked before either inserted: the constraint decides, and the loser gets a Conflict.
    factories.account(other_org, installation_id=4321)
    looked = []
    real_lookup = accounts.account_of_installation

    def lookup_before_the_other_insert(installation_id):
        looked.append(installation_id)
        return None if len(looked) == 1 else real_lookup(installation_id)

    monkeypatch.setattr(accounts, "account_of_installation", lookup_before_the_other_insert)
    with pytest.raises(Conflict) as raised:
        accounts.connect_account(principal(org), 4321)
    assert raised.value.message == "This installation is connected to another organization."
    assert ConnectorAccount.objects.filter(organization=org).count() == 0


def test_accounts_are_listed_newest_first_with_pagination_and_a_status_filter(admin_api, org):
    ids = [factories.account(org, installation_id=n).pk for n in (1, 2, 3)]
    accounts.disconnect_account(principal(org), ids[0])
    page = admin_api.get(ACCOUNTS, {"limit": 2}).json()
    assert [i["id"] for i in page["items"]] == ids[:0:-1]
    rest = admin_api.get(ACCOUNTS, {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["nextCursor"] is None
    assert [i["id"] for i in admin_api.get(ACCOUNTS, {"status": "disconnected"}).json()["items"]] == [ids[0]]
    assert _error(admin_api.get(ACCOUNTS, {"status": "sleepy"}), 400)["code"] == "validation_error"


def test_an_unknown_account_is_404(admin_api):
    assert _error(admin_api.get(f"{ACCOUNTS}/cac_missing"), 404)["code"] == "not_found"
    assert _error(admin_api.post(f"{ACCOUNTS}/cac_missing/disconnect"), 404)["code"] == "not_found"


# --- instances --------------------------------------------------------------------------------------------


def test_creating_an_instance_is_201_and_counts_on_its_account(admin_api, org):
    account = factories.account(org)
    body = {"accountId": account.pk, "name": "Sales repo", "description": "Skills"}
    response = admin_api.post(INSTANCES, body, format="json")
    assert response.status_code == 201
    item = response.json()["item"]
    assert item["id"].startswith("cin_")
    assert (item["accountId"], item["name"], item["description"], item["status"], item["targetCount"]) == (
        account.pk, "Sales repo", "Skills", "active", 0)
    assert (item["lastSyncedAt"], item["lastSyncStatus"], item["lastSyncRevision"]) == (None, "", "")
    assert admin_api.get(f"{ACCOUNTS}/{account.pk}").json()["item"]["instanceCount"] == 1
    assert admin_api.get(f"{INSTANCES}/{item['id']}").json()["item"] == item


def test_an_instance_name_is_unique_in_the_organization_409(admin_api, org, other_org):
    account = factories.account(org)
    factories.instance(other_org, "Sales repo", installation_id=2002)  # another organization's name is free
    body = {"accountId": account.pk, "name": "Sales repo"}
    assert admin_api.post(INSTANCES, body, format="json").status_code == 201
    error = _error(admin_api.post(INSTANCES, body, format="json"), 409)
    assert "Sales repo" in error["message"] and error["details"] == {"field": "name"}
    assert ConnectorInstance.objects.filter(organization=org).count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x"}, "accountId"), ({"accountId": "cac_x"}, "name"),
    ({"accountId": "cac_x", "name": ""}, "name"),
    ({"accountId": "cac_x", "name": "x" * 201}, "name"),
    ({"accountId": "cac_x", "name": "x", "status": "error"}, "status"),
])
def test_a_malformed_instance_is_400_naming_the_field(admin_api, body, field):
    assert field in _error(admin_api.post(INSTANCES, body, format="json"), 400)["message"]
    assert not ConnectorInstance.objects.exists()


def test_an_instance_of_another_organizations_account_is_404_and_of_a_disconnected_one_409(admin_api, org,
                                                                                         other_org):
    foreign = factories.account(other_org)
    assert _error(admin_api.post(INSTANCES, {"accountId": foreign.pk, "name": "x"}, format="json"), 404)
    mine = factories.account(org, installation_id=5)
    accounts.disconnect_account(principal(org), mine.pk)
    error = _error(admin_api.post(INSTANCES, {"accountId": mine.pk, "name": "x"}, format="json"), 409)
    assert "disconnected" in error["message"]
    assert not ConnectorInstance.objects.exists()


def test_patch_changes_name_and_description_and_refuses_the_rest_by_name(admin_api, org):
    instance = factories.instance(org)
    factories.instance(org, "Taken", installation_id=2)
    url = f"{INSTANCES}/{instance.pk}"
    response = admin_api.patch(url, {"name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert (response.json()["item"]["name"], response.json()["item"]["description"]) == ("Renamed", "")
    assert admin_api.patch(url, {"description": "New"}, format="json").json()["item"]["name"] == "Renamed"
    assert _error(admin_api.patch(url, {"name": "Taken"}, format="json"), 409)["details"] == {"field": "name"}
    for body, field in (({"status": "disabled"}, "status"), ({"accountId": "cac_x"}, "accountId"),
                        ({"name": ""}, "name")):
        assert field in _error(admin_api.patch(url, body, format="json"), 400)["message"]
    instance.refresh_from_db()
    assert (instance.name, instance.description, instance.status) == ("Renamed", "New", "active")


def test_disable_enable_archive_move_the_status_and_refuse_a_move_that_does_not_apply(admin_api, org):
    url = f"{INSTANCES}/{factories.instance(org).pk}"
    assert admin_api.post(f"{url}/disable").json()["item"]["status"] == "disabled"
    error = _error(admin_api.post(f"{url}/disable"), 409)
    assert "is disabled" in error["message"] and error["details"] == {"status": "disabled"}
    assert admin_api.post(f"{url}/enable").json()["item"]["status"] == "active"
    assert "is active" in _error(admin_api.post(f"{url}/enable"), 409)["message"]
    assert admin_api.post(f"{url}/archive").json()["item"]["status"] == "archived"
    assert "is archived" in _error(admin_api.post(f"{url}/archive"), 409)["message"]
    assert "archived" in _error(admin_api.patch(url, {"name": "Changed"}, format="json"), 409)["message"]
    assert admin_api.post(f"{url}/enable").json()["item"]["status"] == "active"


def test_deleting_an_instance_removes_its_targets_and_history(admin_api, org, target):
    factories.event(target)
    response = admin_api.delete(f"{INSTANCES}/{target.instance_id}")
    assert response.status_code == 204
    assert not ConnectorInstance.objects.exists() and not ConnectorTarget.objects.exists()
    assert not ConnectorMapping.objects.exists() and not SyncEvent.objects.exists()
    assert ConnectorAccount.objects.count() == 1
    assert _error(admin_api.delete(f"{INSTANCES}/{target.instance_id}"), 404)


def test_an_instance_that_is_the_source_of_config_objects_or_syncing_cannot_be_deleted(admin_api, org,
                                                                                       target):
    url = f"{INSTANCES}/{target.instance_id}"
    running = factories.event(target, status=SyncEvent.Status.RUNNING)
    error = _error(admin_api.delete(url), 409)
    assert "running" in error["message"] and error["details"] == {"reason": "sync_in_progress"}
    SyncEvent.objects.filter(pk=running.pk).update(status=SyncEvent.Status.COMPLETED)

    obj = ConfigObject.objects.create(organization=org, type="skill", title="Pitch")
    SourceBinding.objects.create(organization=org, target=target, config_object=obj,
                                 path="sales/skills/pitch.md")
    error = _error(admin_api.delete(url), 409)
    assert "archive it instead" in error["message"] and error["details"] == {"reason": "source_bindings"}
    assert ConnectorTarget.objects.filter(pk=target.pk).exists()


def test_instances_are_listed_by_name_with_filters_and_pagination(admin_api, org):
    names = ["Alpha", "Bravo", "Charlie"]
    account = factories.account(org)
    ids = [instances.create_instance(principal(org), account.pk, name, description=f"about {name}").pk
           for name in names]
    instances.disable_instance(principal(org), ids[1])
    page = admin_api.get(INSTANCES, {"limit": 2}).json()
    assert [i["name"] for i in page["items"]] == ["Alpha", "Bravo"]
    rest = admin_api.get(INSTANCES, {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [i["name"] for i in rest["items"]] == ["Charlie"] and rest["nextCursor"] is None
    assert [i["id"] for i in admin_api.get(INSTANCES, {"status": "disabled"}).json()["items"]] == [ids[1]]
    assert [i["id"] for i in admin_api.get(INSTANCES, {"q": "ABOUT CHAR"}).json()["items"]] == [ids[2]]
    assert len(admin_api.get(INSTANCES, {"accountId": account.pk}).json()["items"]) == 3
    assert admin_api.get(INSTANCES, {"accountId": "cac_other"}).json()["items"] == []


# --- targets ----------------------------------------------------------------------------------------------


def test_creating_a_target_is_201_with_its_ref_and_no_mappings_yet(admin_api, org):
    instance = factories.instance(org)
    body = {"repositoryId": 42, "repositoryFullName": "acme/sales-skills", "branch": "release/2026.11"}
    response = admin_api.post(f"{INSTANCES}/{instance.pk}/targets", body, format="json")
    assert response.status_code == 201
    item = response.json()["item"]
    assert item["id"].startswith("ctg_")
    assert (item["instanceId"], item["repositoryId"], item["repositoryFullName"]) == (
        instance.pk, 42, "acme/sales-skills")
    assert (item["branch"], item["ref"]) == ("release/2026.11", "refs/heads/release/2026.11")
    assert (item["status"], item["mappings"], item["lastSyncedSha"]) == ("active", [], "")
    assert admin_api.get(f"{TARGETS}/{item['id']}").json()["item"] == item
    assert admin_api.get(f"{INSTANCES}/{instance.pk}").json()["item"]["targetCount"] == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"repositoryId": 0}, "repositoryId"), ({"repositoryId": "x"}, "repositoryId"),
    ({"repositoryFullName": "sales"}, "repositoryFullName"), ({"repositoryFullName": "acme/sales/x"},
                                                               "repositoryFullName"),
    ({"repositoryFullName": "-acme/sales"}, "repositoryFullName"), ({"repositoryFullName": "acme/.."},
                                                                     "repositoryFullName"),
    ({"branch": ""}, "branch"), ({"branch": "a..b"}, "branch"), ({"branch": "-x"}, "branch"),
    ({"branch": "x.lock"}, "branch"), ({"branch": "a b"}, "branch"), ({"branch": "a:b"}, "branch"),
    ({"branch": "feature/"}, "branch"), ({"branch": "a//b"}, "branch"), ({"branch": "@"}, "branch"),
    ({"branch": "a@{1}"}, "branch"), ({"branch": "x/.hidden"}, "branch"), ({"branch": "b" * 256}, "branch"),
])
def test_a_target_with_a_bad_field_is_400_naming_it_and_creates_nothing(admin_api, org, change, field):
    instance = factories.instance(org)
    body = {"repositoryId": 42, "repositoryFullName": "acme/sales", "branch": "main", **change}
    error = _error(admin_api.post(f"{INSTANCES}/{instance.pk}/targets", body, format="json"), 400)
    assert field in error["message"]
    assert not ConnectorTarget.objects.exists()


def test_the_same_repository_branch_twice_in_an_instance_is_409(admin_api, org, target):
    body = {"repositoryId": 42, "repositoryFullName": "acme/sales", "branch": "main"}
    assert _error(admin_api.post(f"{INSTANCES}/{target.instance_id}/targets", body, format="json"), 409)
    body["branch"] = "develop"
    assert admin_api.post(f"{INSTANCES}/{target.instance_id}/targets", body, format="json").status_code == 201


def test_an_archived_instance_takes_no_new_targets(admin_api, org):
    instance = factories.instance(org)
    instances.archive_instance(principal(org), instance.pk)
    body = {"repositoryId": 42, "repositoryFullName": "acme/sales", "branch": "main"}
    assert "archived" in _error(admin_api.post(f"{INSTANCES}/{instance.pk}/targets", body, format="json"),
                                409)["message"]


def test_targets_are_listed_per_instance_with_their_mappings_and_a_status_filter(admin_api, org, target):
    other = factories.target(org, target.instance, repository_id=43, full_name="acme/support")
    targets.update_target(principal(org), other.pk, status="disabled")
    factories.target(org, factories.instance(org, "Elsewhere", installation_id=2))
    items = admin_api.get(f"{INSTANCES}/{target.instance_id}/targets").json()["items"]
    assert [i["id"] for i in items] == [other.pk, target.pk]
    assert [m["selector"] for m in items[1]["mappings"]] == ["sales/skills/**"]
    url = f"{INSTANCES}/{target.instance_id}/targets"
    assert [i["id"] for i in admin_api.get(url, {"status": "disabled"}).json()["items"]] == [other.pk]
    page = admin_api.get(url, {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["nextCursor"]


def test_patching_a_target_moves_its_ref_disables_it_and_refuses_its_repository_id(admin_api, org, target):
    url = f"{TARGETS}/{target.pk}"
    response = admin_api.patch(url, {"branch": "develop", "repositoryFullName": "acme/renamed"},
                               format="json")
    assert response.status_code == 200
    item = response.json()["item"]
    assert (item["branch"], item["ref"], item["repositoryFullName"]) == ("develop", "refs/heads/develop",
                                                                         "acme/renamed")
    item = admin_api.patch(url, {"status": "disabled", "disabledReason": "moving repos"},
                           format="json").json()["item"]
    assert (item["status"], item["disabledReason"]) == ("disabled", "moving repos")
    item = admin_api.patch(url, {"status": "active"}, format="json").json()["item"]
    assert (item["status"], item["disabledReason"]) == ("active", "")
    for body, field in (({"repositoryId": 7}, "repositoryId"), ({"branch": "a..b"}, "branch"),
                        ({"status": "paused"}, "status"), ({"ref": "refs/heads/x"}, "ref")):
        assert field in _error(admin_api.patch(url, body, format="json"), 400)["message"]
    target.refresh_from_db()
    assert (target.repository_id, target.branch, target.ref) == (42, "develop", "refs/heads/develop")


def test_the_target_service_refuses_what_the_api_never_sends(org, target):
    cases = [({"repository_id": 7}, "repository_id"), ({"status": "paused"}, "status"),
             ({"branch": "main\n"}, "branch"), ({"repository_full_name": "acme/x\n"}, "repositoryFullName")]
    for changes, field in cases:
        with pytest.raises(Invalid) as raised:
            targets.update_target(principal(org), target.pk, **changes)
        assert raised.value.extra == {"field": field}
    target.refresh_from_db()
    assert (target.repository_id, target.status, target.branch) == (42, "active", "main")


def test_a_patch_onto_an_existing_repository_branch_is_409(admin_api, org, target):
    other = factories.target(org, target.instance, branch="develop")
    assert _error(admin_api.patch(f"{TARGETS}/{other.pk}", {"branch": "main"}, format="json"), 409)
    other.refresh_from_db()
    assert other.branch == "develop"


# --- resync -----------------------------------------------------------------------------------------------


def test_resync_is_202_with_a_queued_manual_event_sent_to_the_worker_after_commit(
    admin_api, org, target, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_api.post(f"{TARGETS}/{target.pk}/resync")
    assert response.status_code == 202 and response.json()["ok"] is True
    item = response.json()["item"]
    event = SyncEvent.objects.get()
    assert item["id"] == event.pk and item["id"].startswith("sev_")
    assert (item["targetId"], item["instanceId"], item["eventType"], item["trigger"], item["status"]) == (
        target.pk, target.instance_id, "manual_resync", "manual", "queued")
    assert (event.organization, event.attempts) == (org, 0)
    assert len(callbacks) == 1


def test_a_second_resync_while_the_first_waits_answers_the_same_event_and_sends_nothing_more(
    admin_api, target, django_capture_on_commit_callbacks
):
    first = admin_api.post(f"{TARGETS}/{target.pk}/resync").json()["item"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = admin_api.post(f"{TARGETS}/{target.pk}/resync")
    assert second.status_code == 202 and second.json()["item"]["id"] == first["id"]
    assert SyncEvent.objects.count() == 1 and not callbacks

    # One that backs off after a failure does not cover a resync asked for now.
    SyncEvent.objects.filter(pk=first["id"]).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    third = admin_api.post(f"{TARGETS}/{target.pk}/resync").json()["item"]
    assert third["id"] != first["id"] and SyncEvent.objects.count() == 2


@pytest.mark.parametrize("stop", ["target", "instance", "account"])
def test_resync_of_a_target_that_does_not_sync_is_409_and_queues_nothing(
    admin_api, org, target, stop, django_capture_on_commit_callbacks
):
    if stop == "target":
        targets.update_target(principal(org), target.pk, status="disabled")
    elif stop == "instance":
        instances.disable_instance(principal(org), target.instance_id)
    else:
        accounts.disconnect_account(principal(org), target.instance.account_id)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        error = _error(admin_api.post(f"{TARGETS}/{target.pk}/resync"), 409)
    assert stop in error["message"].lower()
    assert not SyncEvent.objects.exists() and not callbacks


# --- mappings ---------------------------------------------------------------------------------------------


def test_mappings_are_appended_in_order_and_listed_in_evaluation_order(admin_api, org, target, crm_plugin):
    url = f"{TARGETS}/{target.pk}/mappings"
    body = {"selector": "sales/agents/*.md", "objectType": "agent", "pluginId": "plugin-crm",
            "autoAddToPlugin": True}
    response = admin_api.post(url, body, format="json")
    assert response.status_code == 201
    item = response.json()["item"]
    assert item["id"].startswith("cmp_")
    assert (item["targetId"], item["selector"], item["objectType"], item["pluginId"], item["autoAddToPlugin"],
            item["position"]) == (target.pk, "sales/agents/*.md", "agent", "plugin-crm", True, 1)
    admin_api.post(url, {"selector": "docs/**/*.md", "objectType": "context"}, format="json")
    listed = admin_api.get(url).json()["items"]
    assert [(m["selector"], m["position"]) for m in listed] == [
        ("sales/skills/**", 0), ("sales/agents/*.md", 1), ("docs/**/*.md", 2)]
    page = admin_api.get(url, {"limit": 2}).json()
    rest = admin_api.get(url, {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [m["position"] for m in page["items"] + rest["items"]] == [0, 1, 2]


@pytest.mark.parametrize(("change", "field"), [
    ({"selector": ""}, "selector"), ({"selector": "/sales/**"}, "selector"),
    ({"selector": "sales/../secrets/*"}, "selector"), ({"selector": ".."}, "selector"),
    ({"selector": "a\nb"}, "selector"),
    ({"selector": "x" * 501}, "selector"), ({"objectType": "widget"}, "objectType"),
    ({"pluginId": "CRM!"}, "pluginId"), ({"autoAddToPlugin": True}, "autoAddToPlugin"),
])
def test_a_bad_mapping_is_400_naming_the_field_and_creates_nothing(admin_api, org, target, change, field):
    body = {"selector": "sales/**", "objectType": "skill", **change}
    error = _error(admin_api.post(f"{TARGETS}/{target.pk}/mappings", body, format="json"), 400)
    assert error["message"].startswith(field) or f"field: {field}" in error["message"], error
    assert ConnectorMapping.objects.count() == 1


def test_a_selector_with_a_nul_character_is_refused_by_the_body_parser_and_by_the_rule(admin_api, target):
    body = {"selector": "a\x00b", "objectType": "skill"}
    assert _error(admin_api.post(f"{TARGETS}/{target.pk}/mappings", body, format="json"), 400)
    assert ConnectorMapping.objects.count() == 1
    with pytest.raises(ValidationError):  # the admin's forms have no JSON parser in front of them
        validation.validate_selector("a\x00b")


def test_a_selector_matches_paths_the_way_the_sync_does():
    matcher = matching.compile_selector("sales/skills/**")
    for path in ("sales/skills/pitch.md", "sales/skills/deep/er/close.md", "marketing/skills/x.md"):
        assert matcher.match(path) == matching.selector_matches(path, "sales/skills/**")
        selected = matching.select_files({path: "file"}, [ConnectorMapping(selector="sales/skills/**")])
        assert bool(selected) == matcher.match(path)
    assert matcher.match("sales/skills/deep/er/close.md") and not matcher.match("marketing/skills/x.md")


def test_a_mapping_into_a_plugin_of_another_organization_is_404(admin_api, org, other_org, target):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="G", version="1.0.0")
    body = {"selector": "sales/**", "objectType": "skill", "pluginId": "plugin-globex"}
    error = _error(admin_api.post(f"{TARGETS}/{target.pk}/mappings", body, format="json"), 404)
    assert "plugin-globex" in error["message"] and error["details"] == {"field": "pluginId"}
    assert ConnectorMapping.objects.count() == 1


def test_patching_a_mapping_changes_the_given_fields_and_keeps_the_plugin_rule(admin_api, org, target,
                                                                                crm_plugin):
    mapping = target.mappings.get()
    url = f"{MAPPINGS}/{mapping.pk}"
    item = admin_api.patch(url, {"pluginId": "plugin-crm", "autoAddToPlugin": True},
                           format="json").json()["item"]
    assert (item["selector"], item["objectType"], item["pluginId"], item["autoAddToPlugin"]) == (
        "sales/skills/**", "skill", "plugin-crm", True)
    error = _error(admin_api.patch(url, {"pluginId": None}, format="json"), 400)
    assert "autoAddToPlugin" in error["message"]  # clearing the plugin while objects are added to it
    item = admin_api.patch(url, {"pluginId": None, "autoAddToPlugin": False, "selector": "skills/*.md",
                                 "objectType": "command", "position": 5}, format="json").json()["item"]
    assert (item["selector"], item["objectType"], item["pluginId"]) == ("skills/*.md", "command", None)
    assert (item["autoAddToPlugin"], item["position"]) == (False, 5)
    for body, field in (({"selector": "../x"}, "selector"), ({"targetId": "ctg_x"}, "targetId"),
                        ({"position": -1}, "position")):
        assert field in _error(admin_api.patch(url, body, format="json"), 400)["message"]
    assert _error(admin_api.patch(url, {"pluginId": "plugin-nope"}, format="json"), 404)
    mapping.refresh_from_db()
    assert (mapping.selector, mapping.plugin, mapping.position) == ("skills/*.md", None, 5)


def test_deleting_a_mapping_is_204(admin_api, target):
    mapping = target.mappings.get()
    assert admin_api.delete(f"{MAPPINGS}/{mapping.pk}").status_code == 204
    assert not ConnectorMapping.objects.exists()
    assert _error(admin_api.delete(f"{MAPPINGS}/{mapping.pk}"), 404)


def test_the_mappings_of_an_archived_instance_are_read_only(admin_api, org, target):
    instances.archive_instance(principal(org), target.instance_id)
    mapping = target.mappings.get()
    assert _error(admin_api.patch(f"{MAPPINGS}/{mapping.pk}", {"selector": "x/**"}, format="json"), 409)
    assert _error(admin_api.delete(f"{MAPPINGS}/{mapping.pk}"), 409)
    body = {"selector": "x/**", "objectType": "skill"}
    assert _error(admin_api.post(f"{TARGETS}/{target.pk}/mappings", body, format="json"), 409)
    assert admin_api.get(f"{TARGETS}/{target.pk}/mappings").status_code == 200


# --- sync events ------------------------------------------------------------------------------------------


def test_sync_events_are_listed_newest_first_with_filters(admin_api, org, target):
    other = factories.target(org, factories.instance(org, "Support", installation_id=2), repository_id=7)
    failed = factories.event(target, head_sha="1" * 40)
    done = factories.event(target, status=SyncEvent.Status.COMPLETED, head_sha="2" * 40, error="")
    manual = factories.event(other, status=SyncEvent.Status.QUEUED, event_type=SyncEvent.Type.MANUAL_RESYNC,
                             head_sha="", trigger=SyncEvent.Trigger.MANUAL, finished_at=None)

    def ids(**query):
        response = admin_api.get(EVENTS, query)
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["items"]]

    assert ids() == [manual.pk, done.pk, failed.pk]
    assert ids(target=target.pk) == [done.pk, failed.pk]
    assert ids(instance=other.instance_id) == [manual.pk]
    assert ids(status="failed") == [failed.pk]
    assert ids(eventType="manual_resync") == [manual.pk]
    assert ids(trigger="webhook") == [done.pk, failed.pk]
    assert ids(target=target.pk, status="completed") == [done.pk]
    assert ids(target="ctg_unknown") == []
    page = admin_api.get(EVENTS, {"limit": 2}).json()
    rest = admin_api.get(EVENTS, {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [manual.pk, done.pk, failed.pk]
    assert _error(admin_api.get(EVENTS, {"status": "stuck"}), 400)["code"] == "validation_error"


def test_a_sync_event_can_be_read_with_its_summary(admin_api, target):
    event = factories.event(target, status=SyncEvent.Status.PARTIAL,
                            summary={"created": 2,
                                     "errors": [{"path": "sales/skills/bad.md", "error": "line 3"}]})
    item = admin_api.get(f"{EVENTS}/{event.pk}").json()["item"]
    assert (item["id"], item["status"], item["headSha"], item["attempts"], item["summary"]["created"]) == (
        event.pk, "partial", "a" * 40, 3, 2)
    assert item["error"] == "GitHub answered 502 three times"
    assert _error(admin_api.get(f"{EVENTS}/sev_missing"), 404)["code"] == "not_found"


@pytest.mark.parametrize("status", ["failed", "partial"])
def test_retry_requeues_the_same_event_with_attempts_reset_and_keeps_the_previous_outcome(
    admin_api, target, status, django_capture_on_commit_callbacks
):
    event = factories.event(target, status=status, summary={"created": 1})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_api.post(f"{EVENTS}/{event.pk}/retry")
    assert response.status_code == 202 and response.json()["ok"] is True
    item = response.json()["item"]
    assert (item["id"], item["status"], item["trigger"], item["attempts"], item["error"]) == (
        event.pk, "queued", "retry", 0, "")
    assert (item["finishedAt"], item["nextAttemptAt"], item["headSha"], item["eventType"]) == (
        None, None, "a" * 40, "push")
    previous = item["summary"]["previousOutcome"]
    assert (previous["status"], previous["attempts"], previous["error"], previous["summary"]) == (
        status, 3, "GitHub answered 502 three times", {"created": 1})
    assert len(callbacks) == 1 and SyncEvent.objects.count() == 1


@pytest.mark.parametrize("status", ["queued", "running", "completed", "ignored"])
def test_retry_of_an_event_that_is_not_failed_or_partial_is_409_naming_its_status(
    admin_api, target, status, django_capture_on_commit_callbacks
):
    event = factories.event(target, status=status)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        error = _error(admin_api.post(f"{EVENTS}/{event.pk}/retry"), 409)
    assert f"is {status}" in error["message"] and error["details"] == {"status": status}
    event.refresh_from_db()
    assert (event.status, event.attempts) == (status, 3) and not callbacks


def test_retry_of_an_event_whose_target_is_disabled_is_409(admin_api, org, target):
    event = factories.event(target)
    targets.update_target(principal(org), target.pk, status="disabled")
    assert "enable it first" in _error(admin_api.post(f"{EVENTS}/{event.pk}/retry"), 409)["message"]
    event.refresh_from_db()
    assert event.status == "failed"
    assert _error(admin_api.post(f"{EVENTS}/sev_missing/retry"), 404)


# --- query counts -----------------------------------------------------------------------------------------


def _grow(org, n):
    for _ in range(n):
        count = ConnectorInstance.objects.count()
        instance = factories.instance(org, f"Instance {count}", installation_id=100 + count)
        target = factories.target(org, instance, mappings=[("a/**", "skill"), ("b/**", "agent")])
        factories.event(target)


@pytest.mark.parametrize("url", [ACCOUNTS, INSTANCES, EVENTS, "targets", "mappings"])
def test_list_endpoints_cost_the_same_queries_for_two_rows_or_twelve(admin_api, org, url,
                                                                      django_assert_max_num_queries):
    _grow(org, 2)
    instance = ConnectorInstance.objects.first()
    target = instance.targets.get()
    nested = {"targets": f"{INSTANCES}/{instance.pk}/targets", "mappings": f"{TARGETS}/{target.pk}/mappings"}
    url = nested.get(url, url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = admin_api.get(url)
            assert response.status_code == 200
        return len(queries), len(response.json()["items"])

    count()  # warm the key's last-used stamp
    few, rows = count()
    _grow(org, 10)
    for n in range(10):  # more rows inside the one instance and the one target, for the nested lists
        factories.target(org, instance, repository_id=1000 + n, mappings=[("c/**", "tool"), ("e/**", "mcp")])
        mappings.create_mapping(principal(org), target.pk, mappings.MappingInput(f"d{n}/**", "hook"))
    with django_assert_max_num_queries(few):
        assert admin_api.get(url).status_code == 200
    assert count()[1] >= rows + 10


# --- who may call -----------------------------------------------------------------------------------------


def _every_endpoint(target):
    instance, account = target.instance, target.instance.account
    mapping, event = target.mappings.get(), target.sync_events.get()
    one = f"{INSTANCES}/{instance.pk}"
    setup = {"installationId": 5, "connectorInstanceName": "x", "repositoryId": 1,
             "repositoryFullName": "x/y", "branch": "main",
             "mappings": [{"selector": "x/**", "objectType": "skill"}]}
    return [
        ("get", ACCOUNTS, None), ("post", ACCOUNTS, {"installationId": 5}),
        ("get", f"{ACCOUNTS}/{account.pk}", None), ("post", f"{ACCOUNTS}/{account.pk}/disconnect", None),
        ("get", INSTANCES, None), ("post", INSTANCES, {"accountId": account.pk, "name": "Theirs"}),
        ("get", one, None), ("patch", one, {"name": "Hijacked"}), ("post", f"{one}/disable", None),
        ("post", f"{one}/enable", None), ("post", f"{one}/archive", None), ("get", f"{one}/targets", None),
        ("post", f"{one}/targets", {"repositoryId": 9, "repositoryFullName": "x/y", "branch": "main"}),
        ("get", f"{TARGETS}/{target.pk}", None), ("patch", f"{TARGETS}/{target.pk}", {"branch": "evil"}),
        ("post", f"{TARGETS}/{target.pk}/resync", None),
        ("get", f"{TARGETS}/{target.pk}/mappings", None),
        ("post", f"{TARGETS}/{target.pk}/mappings", {"selector": "x/**", "objectType": "skill"}),
        ("patch", f"{MAPPINGS}/{mapping.pk}", {"selector": "evil/**"}),
        ("get", EVENTS, None), ("get", f"{EVENTS}/{event.pk}", None),
        ("post", f"{EVENTS}/{event.pk}/retry", None), ("post", f"{API}/connectors/github/setup", setup),
        ("delete", f"{MAPPINGS}/{mapping.pk}", None), ("delete", one, None),
    ]


def _unchanged(target):
    target.refresh_from_db()
    instance, event = target.instance, target.sync_events.get()
    instance.refresh_from_db()
    assert (instance.name, instance.status, target.branch) == ("Sales repo", "active", "main")
    assert instance.account.status == "active" and (event.status, event.attempts) == ("failed", 3)
    assert target.mappings.get().selector == "sales/skills/**"
    mine = {"organization": target.organization}
    assert SyncEvent.objects.filter(**mine).count() == 1
    assert ConnectorTarget.objects.filter(**mine).count() == 1


ADMIN_ONLY = ("connector-accounts", "/setup")


def test_plugin_keys_get_403_on_every_connector_endpoint(api, target, plugin_key):
    factories.event(target)
    client = api(plugin_key.token)
    for method, url, body in _every_endpoint(target):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] == "org_capability_required"
    _unchanged(target)
    assert ConnectorAccount.objects.count() == 1 and ConnectorInstance.objects.count() == 1


def test_a_member_without_a_grant_sees_no_instance_and_gets_403_naming_what_is_missing(api, target, member_key):
    factories.event(target)
    client = api(member_key.token)
    for method, url, body in _every_endpoint(target):
        response = getattr(client, method)(url, body, format="json")
        if method == "get" and url in (INSTANCES, EVENTS):
            assert response.status_code == 200 and response.json()["items"] == [], url
            continue
        assert response.status_code == 403, (method, url)
        code = response.json()["error"]["code"]
        if any(part in url for part in ADMIN_ONLY):
            assert code == "org_capability_required", (method, url)
        elif method == "post" and url == INSTANCES:
            assert code == "org_capability_required"
        else:
            assert code == "resource_access_denied", (method, url)
    _unchanged(target)
    assert ConnectorAccount.objects.count() == 1 and ConnectorInstance.objects.count() == 1


def _grant_instance(api, org_key, target, member, role):
    response = api(org_key.token).post(f"{INSTANCES}/{target.instance.pk}/grants",
                                       {"orgMembershipId": member.pk, "role": role}, format="json")
    assert response.status_code == 201, response.json()


def test_a_viewer_of_an_instance_reads_it_and_its_targets_events_and_mappings_but_changes_nothing(
    api, target, member, member_key, org_key
):
    event = factories.event(target)
    _grant_instance(api, org_key, target, member, "viewer")
    client = api(member_key.token)
    assert [i["id"] for i in client.get(INSTANCES).json()["items"]] == [target.instance.pk]
    assert client.get(f"{TARGETS}/{target.pk}/mappings").status_code == 200
    assert [e["id"] for e in client.get(EVENTS).json()["items"]] == [event.pk]
    assert client.get(f"{EVENTS}/{event.pk}").status_code == 200
    for method, url, body in [("post", f"{TARGETS}/{target.pk}/resync", None),
                              ("patch", f"{INSTANCES}/{target.instance.pk}", {"name": "x"}),
                              ("post", f"{EVENTS}/{event.pk}/retry", None)]:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403 and "you are viewer" in response.json()["error"]["message"], url
    _unchanged(target)


def test_an_editor_of_an_instance_resyncs_and_edits_mappings_but_may_not_archive_or_share(
    api, target, member, member_key, org_key
):
    _grant_instance(api, org_key, target, member, "editor")
    client = api(member_key.token)
    mapping = target.mappings.get()
    assert client.post(f"{TARGETS}/{target.pk}/resync").status_code == 202
    assert client.patch(f"{MAPPINGS}/{mapping.pk}", {"selector": "sales/agents/**"}, format="json").status_code == 200
    assert client.post(f"{INSTANCES}/{target.instance.pk}/archive").status_code == 403
    grants = client.post(f"{INSTANCES}/{target.instance.pk}/grants", {"orgWide": True, "role": "viewer"},
                         format="json")
    assert grants.status_code == 403 and grants.json()["error"]["details"]["requiredRole"] == "manager"


def test_an_instance_editor_needs_the_editor_role_on_a_plugin_to_map_files_into_it(
    api, target, member, member_key, org_key, crm_plugin
):
    _grant_instance(api, org_key, target, member, "editor")
    client = api(member_key.token)
    mapping = target.mappings.get()
    into_crm = {"selector": "sales/agents/**", "objectType": "agent", "pluginId": "plugin-crm",
                "autoAddToPlugin": True}

    def refused(response):
        error = _error(response, 403)
        assert error["code"] == "resource_access_denied"
        assert error["message"].startswith("Mapping files into plugin plugin-crm needs the editor role on it")
        assert (error["details"]["resourceType"], error["details"]["resourceId"]) == ("plugin", "plugin-crm")

    refused(client.post(f"{TARGETS}/{target.pk}/mappings", into_crm, format="json"))
    refused(client.patch(f"{MAPPINGS}/{mapping.pk}", {"pluginId": "plugin-crm", "autoAddToPlugin": True},
                         format="json"))
    assert list(ConnectorMapping.objects.values_list("plugin", "auto_add_to_plugin")) == [(None, False)]

    # A mapping an admin pointed at the plugin: changing what it selects changes what lands in the plugin too.
    admins = api(org_key.token).post(f"{TARGETS}/{target.pk}/mappings", into_crm, format="json")
    admin_mapping = admins.json()["item"]["id"]
    refused(client.patch(f"{MAPPINGS}/{admin_mapping}", {"selector": "**"}, format="json"))
    assert client.patch(f"{MAPPINGS}/{admin_mapping}", {"pluginId": None, "autoAddToPlugin": False},
                        format="json").status_code == 200  # taking files out of it needs no role on it

    granted = api(org_key.token).post(f"{API}/plugins/plugin-crm/grants",
                                      {"orgMembershipId": member.pk, "role": "editor"}, format="json")
    assert granted.status_code == 201, granted.json()
    created = client.post(f"{TARGETS}/{target.pk}/mappings", into_crm, format="json")
    assert created.status_code == 201 and created.json()["item"]["pluginId"] == "plugin-crm"
    patched = client.patch(f"{MAPPINGS}/{mapping.pk}", {"pluginId": "plugin-crm"}, format="json")
    assert patched.status_code == 200 and patched.json()["item"]["pluginId"] == "plugin-crm"


def test_a_manager_of_an_instance_shares_and_archives_it(api, target, member, member_key, org_key):
    _grant_instance(api, org_key, target, member, "manager")
    client = api(member_key.token)
    shared = client.post(f"{INSTANCES}/{target.instance.pk}/grants", {"orgWide": True, "role": "viewer"},
                         format="json")
    assert shared.status_code == 201 and shared.json()["item"]["resourceType"] == "connector_instance"
    assert client.post(f"{INSTANCES}/{target.instance.pk}/archive").status_code == 200


def test_an_org_admin_member_may_use_the_api_and_is_recorded_as_creator(api, org_admin):
    from plexica.tenancy.services import issue_api_key

    client = api(issue_api_key(org_admin.organization, name="ada's key", membership=org_admin)[1])
    item = client.post(ACCOUNTS, {"installationId": 3}, format="json").json()["item"]
    assert item["createdBy"] == org_admin.user.username


def test_another_organization_gets_404_on_every_connector_id_and_changes_nothing(api, target, other_org_key):
    factories.event(target)
    foreign = api(other_org_key.token, tenant="globex")
    for method, url, body in _every_endpoint(target):
        response = getattr(foreign, method)(url, body, format="json")
        if url in (ACCOUNTS, EVENTS, INSTANCES) or url.endswith("/setup"):
            if method == "get":
                assert response.status_code == 200 and response.json()["items"] == [], url
            elif url == INSTANCES:  # their own instance needs their own account: ours is unknown to them
                assert response.status_code == 404, (method, url)
        else:
            assert response.status_code == 404, (method, url, response.json())
    _unchanged(target)
    for filters in ({"target": target.pk}, {"instance": target.instance_id}):
        assert foreign.get(EVENTS, filters).json()["items"] == []


def test_a_key_of_another_organization_naming_this_one_is_403(api, target, other_org_key):
    assert api(other_org_key.token, tenant="acme-corp").get(INSTANCES).status_code == 403


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_organizations_connecting_one_installation_at_once_leave_it_to_exactly_one(org, other_org):
    from tests.concurrency import run_together

    for installation_id in range(9001, 9006):
        def connect(organization, installation_id=installation_id):
            try:
                return accounts.connect_account(principal(organization), installation_id)[0].organization_id
            except Conflict as exc:
                return exc.message

        results = run_together(lambda: connect(org), lambda: connect(other_org))
        holder = ConnectorAccount.objects.get(installation_id=installation_id).organization_id
        assert sorted(results, key=str) == sorted(
            [holder, "This installation is connected to another organization."], key=str)
