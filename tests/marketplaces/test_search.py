import pytest
from django.db import connection

from marketplaces.config_objects import services
from marketplaces.config_objects.filtersets import ConfigObjectFilterSet
from marketplaces.config_objects.models import ConfigObject
from plexica.tenancy.principal import Principal

BASE = "/api/v1/config-objects"


def _skill(org, name, description):
    text = f"---\nname: {name}\ndescription: {description}\n---\nBody text that is never searched.\n"
    return services.create_config_object(Principal.system(org), "skill", "cloud", services.VersionInput(text))[0]


def _search(org, q):
    filterset = ConfigObjectFilterSet({"q": q}, queryset=ConfigObject.objects.filter(organization=org))
    assert filterset.is_valid(), filterset.errors
    return {obj.pk for obj in filterset.qs}


@pytest.fixture
def catalog(org):
    return {
        "tickets": _skill(org, "Summarize tickets", "Turns a support thread into three bullet points."),
        "release": _skill(org, "Release notes writer", "Drafts release notes from merged pull requests."),
        "glossary": _skill(org, "Company glossary", "Terms the support team uses with customers."),
    }


def test_every_word_must_appear_in_the_title_or_the_description(org, catalog):
    assert _search(org, "summarize tickets") == {catalog["tickets"].pk}  # both in the title
    assert _search(org, "tickets bullet") == {catalog["tickets"].pk}  # one in the title, one in the description
    assert _search(org, "support") == {catalog["tickets"].pk, catalog["glossary"].pk}
    assert _search(org, "support release") == set()  # no object has both


def test_search_ignores_case_and_never_looks_at_the_body(org, catalog):
    assert _search(org, "GLOSSARY") == {catalog["glossary"].pk}
    assert _search(org, "never searched") == set()


def test_the_api_q_filter_is_full_text_and_stays_in_the_organization(api, org_key, org, other_org, catalog):
    _skill(other_org, "Summarize tickets", "Someone else's copy.")
    response = api(org_key.token).get(BASE, {"q": "pull requests"})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [catalog["release"].pk]


@pytest.mark.requires_postgres
def test_postgres_search_stems_words_and_understands_web_search_syntax(org, catalog):
    assert _search(org, "summarizing ticket") == {catalog["tickets"].pk}  # english stemming
    assert _search(org, '"release notes"') == {catalog["release"].pk}  # a phrase
    assert _search(org, "support -glossary") == {catalog["tickets"].pk}  # a negation
    assert _search(org, "glossary or drafts") == {catalog["glossary"].pk, catalog["release"].pk}


@pytest.mark.requires_postgres
def test_postgres_has_the_gin_index_and_the_filter_uses_it(org, catalog):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'marketplaces_configobject' "
                       "AND indexname = 'cfo_search_fts_idx'")
        (definition,) = cursor.fetchone()
        assert "USING gin" in definition and "to_tsvector('english'" in definition
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned otherwise
        queryset = ConfigObjectFilterSet({"q": "tickets"}, queryset=ConfigObject.objects.all()).qs
        assert "cfo_search_fts_idx" in queryset.explain()
