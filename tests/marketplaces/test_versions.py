import pytest

from marketplaces import services
from marketplaces.models import ConfigObject, ConfigObjectVersion, VersionIsImmutable
from plexica.api.authentication import Principal
from tests.concurrency import run_together
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2, add_version


@pytest.fixture
def principal(org):
    return Principal(organization=org)


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
