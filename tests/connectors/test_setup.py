import pytest

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.services import accounts, mappings, setup
from connectors.sharing import CONNECTOR_INSTANCE
from plexica.access import services as access
from plexica.errors import Conflict, Forbidden, Invalid, NotFound
from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from tests.connectors import factories
from tests.connectors.factories import API, principal

SETUP = f"{API}/connectors/github/setup"
OK_MAPPING = {"selector": "ok/**", "objectType": "skill"}


def _body(**overrides):
    body = {
        "installationId": 4242, "connectorInstanceName": "Sales repo", "repositoryId": 99,
        "repositoryFullName": "acme/sales-playbooks", "branch": "main",
        "mappings": [{"selector": "sales/skills/**", "objectType": "skill"},
                     {"selector": "sales/agents/*.md", "objectType": "agent", "pluginId": "plugin-crm",
                      "autoAddToPlugin": True}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


def _nothing_created():
    assert not ConnectorAccount.objects.exists() and not ConnectorInstance.objects.exists()
    assert not ConnectorTarget.objects.exists() and not ConnectorMapping.objects.exists()
    assert not SyncEvent.objects.exists()


def test_setup_creates_account_instance_target_and_mappings_and_queues_a_first_sync(
    admin_api, org, crm_plugin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_api.post(SETUP, _body(), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["ok"] is True
    item = response.json()["item"]
    assert item["accountCreated"] is True

    account = ConnectorAccount.objects.get(pk=item["accountId"])
    instance = ConnectorInstance.objects.get(pk=item["instanceId"])
    target = ConnectorTarget.objects.get(pk=item["targetId"])
    assert (account.organization, account.installation_id, account.status) == (org, 4242, "active")
    assert (instance.account, instance.name, instance.organization) == (account, "Sales repo", org)
    assert (target.instance, target.repository_id, target.repository_full_name, target.ref) == (
        instance, 99, "acme/sales-playbooks", "refs/heads/main")
    mappings = [ConnectorMapping.objects.get(pk=pk) for pk in item["mappingIds"]]
    rows = [(m.selector, m.object_type, m.plugin, m.auto_add_to_plugin, m.position, m.target)
            for m in mappings]
    assert rows == [("sales/skills/**", "skill", None, False, 0, target),
                    ("sales/agents/*.md", "agent", crm_plugin, True, 1, target)]

    event = SyncEvent.objects.get()
    assert item["syncEventId"] == event.pk
    assert (event.target, event.event_type, event.trigger, event.status) == (
        target, "manual_resync", "manual", "queued")
    assert len(callbacks) == 1

    # The created rows are what the other endpoints show.
    target_item = admin_api.get(f"{API}/connector-targets/{target.pk}").json()["item"]
    assert [m["id"] for m in target_item["mappings"]] == item["mappingIds"]


def test_setup_reuses_the_organizations_account_of_that_installation_and_reconnects_it(admin_api, org,
                                                                                       crm_plugin):
    account = factories.account(org, installation_id=4242)
    accounts.disconnect_account(principal(org), account.pk)
    item = admin_api.post(SETUP, _body(), format="json").json()["item"]
    assert (item["accountId"], item["accountCreated"]) == (account.pk, False)
    account.refresh_from_db()
    assert (account.status, account.disconnected_at) == ("active", None)

    second = admin_api.post(SETUP, _body(connectorInstanceName="Support", branch="develop"), format="json")
    assert second.status_code == 201
    assert second.json()["item"]["accountId"] == account.pk
    assert ConnectorAccount.objects.count() == 1 and ConnectorInstance.objects.count() == 2


@pytest.mark.parametrize("theirs_disconnected", [False, True])
def test_an_installation_another_organization_holds_is_409_and_sets_up_nothing(
    admin_api, other_org, crm_plugin, theirs_disconnected
):
    theirs = factories.account(other_org, installation_id=4242)
    if theirs_disconnected:
        accounts.disconnect_account(principal(other_org), theirs.pk)
    response = admin_api.post(SETUP, _body(), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["message"] == "This installation is connected to another organization."
    assert error["details"] == {"field": "installationId"}
    assert theirs.pk not in response.content.decode()
    assert list(ConnectorAccount.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert not ConnectorInstance.objects.exists() and not ConnectorTarget.objects.exists()
    assert not ConnectorMapping.objects.exists() and not SyncEvent.objects.exists()
    theirs.refresh_from_db()
    assert theirs.status == ("disconnected" if theirs_disconnected else "active")  # not reconnected for us


@pytest.mark.parametrize(("change", "field"), [
    ({"installationId": 0}, "installationId"), ({"installationId": None}, "installationId"),
    ({"connectorInstanceName": ""}, "connectorInstanceName"), ({"repositoryId": -1}, "repositoryId"),
    ({"repositoryFullName": "acme"}, "repositoryFullName"), ({"branch": "bad..branch"}, "branch"),
    ({"mappings": []}, "mappings"), ({"mappings": "sales/**"}, "mappings"),
    ({"mappings": [OK_MAPPING, {"selector": "/abs/**", "objectType": "skill"}]}, "mappings[1].selector"),
    ({"mappings": [OK_MAPPING, {"selector": "a/../b", "objectType": "skill"}]}, "mappings[1].selector"),
    ({"mappings": [{"selector": "ok/**", "objectType": "gadget"}]}, "mappings[0].objectType"),
    ({"mappings": [{"selector": "ok/**", "objectType": "skill", "autoAddToPlugin": True}]},
     "mappings[0].autoAddToPlugin"),
    ({"mappings": [{"objectType": "skill"}]}, "mappings[0].selector"),
])
def test_an_invalid_field_anywhere_is_400_naming_it_and_creates_nothing(admin_api, crm_plugin, change, field):
    error = admin_api.post(SETUP, _body(**change), format="json").json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"], error
    _nothing_created()


def test_a_missing_field_is_named(admin_api):
    body = _body()
    del body["repositoryId"]
    response = admin_api.post(SETUP, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Missing required field: repositoryId"
    _nothing_created()


@pytest.mark.parametrize("plugin_id", ["plugin-unknown", "plugin-globex"])
def test_a_mapping_naming_a_plugin_outside_the_organization_is_404_and_creates_nothing(
    admin_api, other_org, crm_plugin, plugin_id
):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="Globex", version="1.0.0")
    mappings = [{"selector": "ok/**", "objectType": "skill", "pluginId": "plugin-crm"},
                {"selector": "x/**", "objectType": "tool", "pluginId": plugin_id}]
    response = admin_api.post(SETUP, _body(mappings=mappings), format="json")
    assert response.status_code == 404
    error = response.json()["error"]
    assert plugin_id in error["message"] and error["details"] == {"field": "mappings[1].pluginId"}
    _nothing_created()


def test_a_taken_instance_name_is_409_and_rolls_back_the_new_account(admin_api, org, crm_plugin):
    factories.instance(org, "Sales repo", installation_id=1)
    response = admin_api.post(SETUP, _body(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"field": "name"}
    assert list(ConnectorAccount.objects.values_list("installation_id", flat=True)) == [1]
    assert ConnectorInstance.objects.count() == 1 and not ConnectorTarget.objects.exists()
    assert not SyncEvent.objects.exists()


def test_the_service_checks_every_mapping_before_writing_even_without_the_serializer(org, crm_plugin):
    good = mappings.MappingInput("ok/**", "skill")
    cases = [
        ([good, mappings.MappingInput("../up/**", "skill")], Invalid, "mappings[1].selector"),
        ([good, mappings.MappingInput("ok/**", "widget")], Invalid, "mappings[1].objectType"),
        ([mappings.MappingInput("ok/**", "skill", auto_add_to_plugin=True)], Invalid,
         "mappings[0].autoAddToPlugin"),
        ([good, mappings.MappingInput("ok/**", "skill", plugin_id="plugin-nope")], NotFound,
         "mappings[1].pluginId"),
        ([], Invalid, "mappings"),
    ]
    for given, error, field in cases:
        with pytest.raises(error) as raised:
            setup.setup_github(principal(org), 5, "Repo", 9, "acme/repo", "main", given)
        assert raised.value.extra == {"field": field}
    with pytest.raises(Invalid):
        setup.setup_github(principal(org), 5, "Repo", 9, "acme/repo", "a b", [good])
    _nothing_created()


def test_the_service_needs_an_org_admin_whoever_calls_it(org, member, crm_plugin):
    # The endpoint turns members away before reading the body; the service refuses them itself as well.
    mapping = mappings.MappingInput("ok/**", "skill", plugin_id="plugin-crm", auto_add_to_plugin=True)
    caller = Principal(organization=org, membership=member)
    with pytest.raises(Forbidden) as raised:
        setup.setup_github(caller, 5, "Repo", 9, "acme/repo", "main",
                           [mappings.MappingInput("x/**", "tool"), mapping])
    assert raised.value.code == "org_capability_required"
    assert raised.value.message.startswith("Setting up a GitHub connector needs an organization admin")
    _nothing_created()


def test_the_mapping_service_needs_the_editor_role_on_a_mapped_plugin(org, member, crm_plugin):
    # An instance editor changes the target's mappings; filling a plugin needs the editor role on the plugin.
    target = factories.target(org)
    access.grant(Principal.system(org), CONNECTOR_INSTANCE, target.instance_id, access.EDITOR,
                 membership_id=member.pk)
    caller = Principal(organization=org, membership=member)
    into_crm = mappings.MappingInput("ok/**", "skill", plugin_id="plugin-crm", auto_add_to_plugin=True)
    with pytest.raises(Forbidden) as raised:
        mappings.create_mapping(caller, target.pk, into_crm)
    assert raised.value.message.startswith("Mapping files into plugin plugin-crm needs the editor role on it")
    assert not ConnectorMapping.objects.exists()
    assert mappings.create_mapping(caller, target.pk, mappings.MappingInput("ok/**", "skill")).plugin is None


def test_a_failure_after_the_first_rows_were_written_leaves_nothing_behind(org, crm_plugin):
    factories.instance(org, "Repo", installation_id=1)
    before = set(ConnectorAccount.objects.values_list("pk", flat=True))
    with pytest.raises(Conflict):
        setup.setup_github(principal(org), 5, "Repo", 9, "acme/repo", "main",
                              [mappings.MappingInput("ok/**", "skill")])
    assert set(ConnectorAccount.objects.values_list("pk", flat=True)) == before
    assert not ConnectorTarget.objects.exists() and not SyncEvent.objects.exists()


@pytest.mark.parametrize("who", ["member_key", "plugin_key"])
def test_setup_needs_an_org_admin(api, request, who, crm_plugin):
    response = api(request.getfixturevalue(who).token).post(SETUP, _body(), format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "org_capability_required"
    _nothing_created()


def test_setup_in_another_organization_cannot_use_this_ones_plugins(api, other_org_key, crm_plugin):
    response = api(other_org_key.token, tenant="globex").post(SETUP, _body(), format="json")
    assert response.status_code == 404
    _nothing_created()


def test_the_admin_member_who_sets_it_up_is_recorded_as_the_instances_manager(api, org_admin, crm_plugin):
    from plexica.access.models import AccessGrant
    from plexica.tenancy.services import issue_api_key

    client = api(issue_api_key(org_admin.organization, name="ada's key", membership=org_admin)[1])
    body = {"installationId": 77, "connectorInstanceName": "Ada's repo", "repositoryId": 5,
            "repositoryFullName": "acme/ada", "branch": "main",
            "mappings": [{"selector": "skills/**", "objectType": "skill"}]}
    item = client.post("/api/v1/connectors/github/setup", body, format="json").json()["item"]
    grant = AccessGrant.objects.get(resource_id=item["instanceId"])
    assert (grant.resource_type, grant.membership_id, grant.role) == ("connector_instance", org_admin.pk, "manager")
