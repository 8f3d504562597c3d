import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from marketplaces.catalog.models import PluginConfigObject
from marketplaces.config_objects import services
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2

BAD_FRONT_MATTER = "---\nname: Summarize tickets\ndescription: [unclosed\n---\nBody\n"


def _object(org, text=SKILL_V1, type_="skill"):
    return services.create_config_object(Principal.system(org), type_, "cloud", services.VersionInput(text))[0]


def _url(name, obj):
    return reverse(f"admin:marketplaces_configobject_{name}", args=[quote(obj.pk)])


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin.user)
    return client


@pytest.fixture
def staff_member(org):
    """Staff, but only a plain member of the organization: no admin standing."""
    user, _ = ensure_user("sam", password="correct-horse-battery", is_staff=True)
    return add_member(org, user, Membership.Role.MEMBER)[0]


# The diff view


def test_the_change_page_links_to_the_comparison_and_the_new_version_form(admin_client, org):
    obj = _object(org)
    page = admin_client.get(_url("change", obj)).content.decode()
    assert _url("compare", obj) in page and _url("new_version", obj) in page


def test_the_diff_compares_the_previous_version_with_the_latest_by_default(admin_client, org):
    obj = _object(org)
    first = obj.latest_version()
    second, _ = services.add_version(Principal.system(org), obj.pk, services.VersionInput(SKILL_V2))
    response = admin_client.get(_url("compare", obj))
    assert response.status_code == 200
    assert (response.context["old"], response.context["new"]) == (first, second)
    lines = response.context["lines"]
    assert ("removed", "-Read the thread, then write three bullets.") in lines
    assert ("added", "+End with the customer's mood.") in lines
    assert ("file", f"--- {first.pk}") in lines


def test_any_two_versions_can_be_compared_and_an_unknown_one_is_reported(admin_client, org):
    obj = _object(org)
    first = obj.latest_version()
    second, _ = services.add_version(Principal.system(org), obj.pk, services.VersionInput(SKILL_V2))
    swapped = admin_client.get(_url("compare", obj), {"from": second.pk, "to": first.pk})
    assert ("added", "+Read the thread, then write three bullets.") in swapped.context["lines"]
    missing = admin_client.get(_url("compare", obj), {"from": first.pk, "to": "ver_nope"})
    assert missing.status_code == 404
    assert "has no version ver_nope" in missing.content.decode()


def test_a_single_version_has_nothing_to_compare(admin_client, org):
    obj = _object(org)
    response = admin_client.get(_url("compare", obj))
    assert response.status_code == 200
    assert "only one version" in response.content.decode()


def test_the_diff_escapes_the_payloads_html(admin_client, org):
    obj = _object(org, "Notes\n", type_="context")
    services.add_version(Principal.system(org), obj.pk,
                         services.VersionInput('Notes\n<script>alert("x")</script><img src=x onerror=alert(1)>\n'))
    body = admin_client.get(_url("compare", obj)).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in body


@pytest.mark.parametrize("view", ["compare", "new_version"])
def test_another_organizations_object_is_not_found(admin_client, other_org, view):
    theirs = _object(other_org)
    assert admin_client.get(_url(view, theirs)).status_code == 404
    assert admin_client.get(_url(view, ConfigObject(pk="cfo_missing"))).status_code == 404


@pytest.mark.parametrize("view", ["compare", "new_version", "add"])
def test_a_member_without_admin_standing_is_forbidden(client, staff_member, org, view):
    obj = _object(org)
    client.force_login(staff_member.user)
    url = reverse("admin:marketplaces_configobject_add") if view == "add" else _url(view, obj)
    assert client.get(url).status_code == 403
    assert client.post(url, {"raw_source_text": SKILL_V2}).status_code == 403
    assert obj.versions.count() == 1


def test_someone_logged_out_is_sent_to_the_login_page(client, org):
    response = client.get(_url("compare", _object(org)))
    assert response.status_code == 302 and "/login/" in response["Location"]


# The new-version form


def test_the_form_starts_from_the_latest_content(admin_client, org):
    obj = _object(org)
    form = admin_client.get(_url("new_version", obj)).context["form"]
    assert form.initial["raw_source_text"] == SKILL_V1
    assert form.initial["base_version_id"] == obj.latest_version().pk


def test_valid_content_becomes_the_new_latest_version(admin_client, org_admin, org):
    obj = _object(org)
    base = obj.latest_version().pk
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": SKILL_V2, "reason": "Mood line",
                                                            "base_version_id": base}, follow=True)
    assert response.redirect_chain[-1][0] == _url("change", obj)
    version = obj.latest_version()
    assert version.pk != base
    assert (version.raw_source_text, version.reason, version.created_by, version.created_via) == (
        SKILL_V2, "Mood line", org_admin.user, "cloud")
    assert f"Added version {version.pk}." in response.content.decode()


def test_invalid_content_shows_the_parsers_error_with_the_line_and_stores_nothing(admin_client, org):
    obj = _object(org)
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": BAD_FRONT_MATTER})
    assert response.status_code == 200
    errors = response.context["form"].errors["raw_source_text"]
    assert "YAML front matter is invalid at line 3" in errors[0]
    assert obj.versions.count() == 1
    assert "Nothing was saved" in response.content.decode()


def test_content_a_browser_submits_with_crlf_keeps_its_front_matter_title(admin_client, org):
    obj = _object(org)
    crlf = SKILL_V2.replace("Summarize tickets", "Summarize threads").replace("\n", "\r\n")
    base = obj.latest_version().pk
    admin_client.post(_url("new_version", obj), {"raw_source_text": crlf, "base_version_id": base})
    obj.refresh_from_db()
    assert (obj.versions.count(), obj.title) == (2, "Summarize threads")
    assert obj.latest_version().raw_source_text == crlf


def test_invalid_front_matter_submitted_with_crlf_is_refused_naming_the_line(admin_client, org):
    obj = _object(org)
    crlf = BAD_FRONT_MATTER.replace("\n", "\r\n")
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": crlf})
    assert "YAML front matter is invalid at line 3" in response.context["form"].errors["raw_source_text"][0]
    assert obj.versions.count() == 1


def test_an_invalid_json_payload_is_refused_on_its_field(admin_client, org):
    obj = _object(org, '{"name": "GitHub", "command": "npx"}', type_="mcp")
    response = admin_client.post(_url("new_version", obj), {"normalized_payload_json": '{"name": "x",\n "url": }'})
    assert "Not valid JSON at line 2" in response.context["form"].errors["normalized_payload_json"][0]
    response = admin_client.post(_url("new_version", obj), {"normalized_payload_json": '{"name": "no command"}'})
    assert "either 'command'" in response.context["form"].errors["normalized_payload_json"][0]
    assert obj.versions.count() == 1


def test_empty_content_is_refused(admin_client, org):
    obj = _object(org)
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": "", "normalized_payload_json": " "})
    assert "Give the raw source text or a JSON payload" in response.content.decode()
    assert obj.versions.count() == 1


def test_content_equal_to_the_latest_is_reported_not_stored(admin_client, org):
    obj = _object(org)
    latest = obj.latest_version()
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": SKILL_V1,
                                                            "base_version_id": latest.pk}, follow=True)
    assert f"The content equals the latest version ({latest.pk}); no new version was created." in (
        response.content.decode())
    assert obj.versions.count() == 1


def test_a_stale_base_is_a_conflict_and_submitting_again_after_review_goes_through(admin_client, org):
    obj = _object(org)
    base = obj.latest_version().pk
    meanwhile, _ = services.add_version(Principal.system(org), obj.pk, services.VersionInput(SKILL_V2))
    mine = SKILL_V1.replace("three bullets.", "four bullets.")
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": mine, "base_version_id": base})
    assert response.status_code == 200
    form = response.context["form"]
    assert f"someone added version {meanwhile.pk}" in form.non_field_errors()[0]
    assert obj.versions.count() == 2 and obj.latest_version() == meanwhile
    assert form["raw_source_text"].value() == mine  # the edit is kept
    assert form["base_version_id"].value() == meanwhile.pk
    assert f"{_url('compare', obj)}?from={base}&amp;to={meanwhile.pk}" in response.content.decode()

    admin_client.post(_url("new_version", obj), {"raw_source_text": mine, "base_version_id": meanwhile.pk})
    assert obj.latest_version().raw_source_text == mine


def test_an_archived_object_takes_no_new_version(admin_client, org):
    obj = _object(org)
    services.archive_config_object(Principal.system(org), obj.pk)
    response = admin_client.post(_url("new_version", obj), {"raw_source_text": SKILL_V2})
    assert "restore it before adding versions" in response.content.decode()
    assert obj.versions.count() == 1


# The add form: an object with its first version


def test_the_add_form_creates_an_object_with_its_first_version(admin_client, org_admin, org, crm_plugin):
    response = admin_client.post(reverse("admin:marketplaces_configobject_add"), {
        "organization": org.pk, "type": "skill", "source_mode": "cloud", "plugins": [crm_plugin.pk],
        "raw_source_text": SKILL_V1, "reason": "First draft",
    })
    obj = ConfigObject.objects.get()
    assert response.status_code == 302 and response["Location"] == _url("change", obj)
    assert (obj.organization, obj.title, obj.created_by) == (org, "Summarize tickets", org_admin.user)
    version = ConfigObjectVersion.objects.get()
    assert (version.config_object, version.raw_source_text, version.reason) == (obj, SKILL_V1, "First draft")
    assert PluginConfigObject.objects.get().plugin == crm_plugin
    assert AccessGrant.objects.get(resource_id=obj.pk).role == "manager"  # the creator manages it


def test_the_add_form_refuses_invalid_content_and_foreign_plugins(admin_client, org, other_org):
    url = reverse("admin:marketplaces_configobject_add")
    response = admin_client.post(url, {"organization": org.pk, "type": "skill", "source_mode": "cloud",
                                       "raw_source_text": BAD_FRONT_MATTER})
    assert "at line 3" in response.context["form"].errors["raw_source_text"][0]
    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="G", version="1.0.0")
    assert foreign not in admin_client.get(url).context["form"].fields["plugins"].queryset
    response = admin_client.post(url, {"organization": org.pk, "type": "skill", "source_mode": "cloud",
                                       "plugins": [foreign.pk], "raw_source_text": SKILL_V1})
    assert "plugins" in response.context["form"].errors
    response = admin_client.post(url, {"organization": other_org.pk, "type": "skill", "source_mode": "cloud",
                                       "raw_source_text": SKILL_V1})
    assert "organization" in response.context["form"].errors
    assert not ConfigObject.objects.exists() and not ConfigObjectVersion.objects.exists()


def test_the_add_form_reads_the_front_matter_of_crlf_text_and_refuses_it_when_invalid(admin_client, org):
    url = reverse("admin:marketplaces_configobject_add")
    form = {"organization": org.pk, "type": "skill", "source_mode": "cloud"}
    response = admin_client.post(url, {**form, "raw_source_text": BAD_FRONT_MATTER.replace("\n", "\r\n")})
    assert "at line 3" in response.context["form"].errors["raw_source_text"][0]
    assert not ConfigObject.objects.exists()
    admin_client.post(url, {**form, "raw_source_text": SKILL_V1.replace("\n", "\r\n")})
    assert ConfigObject.objects.get().title == "Summarize tickets"


def test_the_diff_marks_a_missing_newline_at_the_end_instead_of_joining_lines(admin_client, org):
    obj = _object(org, "Intro\nSteps...", type_="context")
    services.add_version(Principal.system(org), obj.pk, services.VersionInput("Intro\nBetter steps"))
    lines = admin_client.get(_url("compare", obj)).context["lines"]
    note = ("note", "\\ No newline at end of file")
    assert lines[3:] == [("context", " Intro"), ("removed", "-Steps..."), note, ("added", "+Better steps"), note]


def test_the_diff_shows_a_line_holding_a_form_feed_as_one_line(admin_client, org):
    obj = _object(org, "Page one\x0cPage two\nEnd\n", type_="context")
    edit = services.VersionInput("Page one\x0cPage two\nThe end\n")
    services.add_version(Principal.system(org), obj.pk, edit)
    lines = admin_client.get(_url("compare", obj)).context["lines"]
    assert lines[3:] == [("context", " Page one\x0cPage two"), ("removed", "-End"), ("added", "+The end")]


def test_a_removed_front_matter_delimiter_is_a_removed_line_not_a_file_header(admin_client, org):
    obj = _object(org, "Notes\n---\nmore\n", type_="context")
    services.add_version(Principal.system(org), obj.pk, services.VersionInput("Notes\nmore\n"))
    lines = admin_client.get(_url("compare", obj)).context["lines"]
    assert ("removed", "----") in lines
    assert [kind for kind, _ in lines[:2]] == ["file", "file"]


def test_a_superuser_without_a_membership_adds_versions_and_objects_too(client, org):
    root, _ = ensure_user("root", password="correct-horse-battery", is_staff=True, is_superuser=True)
    client.force_login(root)
    obj = _object(org)
    client.post(_url("new_version", obj), {"raw_source_text": SKILL_V2})
    assert (obj.latest_version().raw_source_text, obj.latest_version().created_by) == (SKILL_V2, root)
    response = client.post(reverse("admin:marketplaces_configobject_add"), {
        "organization": org.pk, "type": "context", "source_mode": "cloud", "raw_source_text": "House style"})
    assert response.status_code == 302
    assert ConfigObject.objects.filter(organization=org, title="House style").exists()
