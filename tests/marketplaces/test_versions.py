import pytest

from marketplaces.config_objects import services
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion, VersionIsImmutable
from plexica.tenancy.principal import Principal
from tests.concurrency import run_together
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2, add_version


@pytest.fixture
def principal(org):
    return Principal.system(org)


def test_a_stored_version_cannot_be_saved_again(principal):
    _, version = services.create_config_object(principal, "skill", "cloud", services.VersionInput(SKILL_V1))
    version.reason = "rewriting history"
    with pytest.raises(VersionIsImmutable):
        version.save()
    assert ConfigObjectVersion.objects.get(pk=version.pk).reason == ""


def test_the_latest_version_is_the_newest_even_when_a_clock_runs_behind(principal):
    obj, first = services.create_config_object(principal, "context", "cloud", services.VersionInput("one"))
    second, created = services.add_version(principal, obj.pk, services.VersionInput("two"),
                                           now=first.created_at.replace(year=first.created_at.year - 1))
    assert created and second.created_at > first.created_at
    assert obj.latest_version() == second


def test_a_version_from_the_connector_is_recorded_as_such(principal):
    obj, _ = services.create_config_object(principal, "hook", "connector",
                                           services.VersionInput("echo hi", source_revision="abc123"))
    version = obj.latest_version()
    assert (version.created_via, version.source_revision) == ("connector", "abc123")


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_editors_starting_from_the_same_version_exactly_one_wins(api, org_key):
    client = api(org_key.token)
    for round_ in range(5):
        item = client.post("/api/v1/config-objects", {"type": "skill", "input": {"rawSourceText": SKILL_V1}},
                           format="json").json()["item"]
        base = item["latestVersion"]["id"]

        def edit(text, object_id=item["id"], base=base):
            return add_version(api(org_key.token), object_id, text, if_match=base).status_code

        statuses = run_together(lambda: edit(SKILL_V2), lambda: edit(SKILL_V2 + "\nother"))
        assert sorted(statuses) == [201, 409], round_
        assert ConfigObject.objects.get(pk=item["id"]).versions.count() == 2


def test_an_if_match_that_names_no_version_is_a_400_and_adds_nothing(admin_api, create):
    item = create()
    response = admin_api.post(f"/api/v1/config-objects/{item['id']}/versions",
                              {"input": {"rawSourceText": SKILL_V2}}, format="json", HTTP_IF_MATCH=" , ,, ")
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "If-Match"
    assert ConfigObjectVersion.objects.count() == 1


def test_restoring_an_object_whose_source_was_removed_delivers_its_last_content_again(principal, admin_api,
                                                                                      create):
    item = create()
    removed = services.record_deleted_version(principal, item["id"], source_revision="abc123")
    assert removed.is_deleted_version and ConfigObject.objects.get().deleted_at is not None
    assert admin_api.get(f"/api/v1/delivery/config-objects/{item['id']}/download").status_code == 404

    assert admin_api.post(f"/api/v1/config-objects/{item['id']}/restore").status_code == 200
    latest = ConfigObject.objects.get().latest_version()
    assert (latest.is_deleted_version, latest.created_via, latest.raw_source_text) == (False, "system", SKILL_V1)
    download = admin_api.get(f"/api/v1/delivery/config-objects/{item['id']}/download")
    assert download.status_code == 200 and download.json()["item"]["versionId"] == latest.pk
