import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from tests.marketplaces.conftest import BASE, SKILL_V1, SKILL_V2, add_version


def test_creating_a_skill_stores_its_first_version_and_projects_title_and_description(admin_api, create):
    item = create(metadata={"relativePath": "skills/summarize/SKILL.md"})
    assert item["id"].startswith("cfo_")
    assert (item["type"], item["sourceMode"], item["status"]) == ("skill", "cloud", "active")
    assert item["title"] == "Summarize tickets"
    assert item["description"] == "Turns a support thread into three bullet points."
    assert (item["fileName"], item["fileExtension"], item["relativePath"]) == (
        "SKILL.md", "md", "skills/summarize/SKILL.md")
    assert item["latestVersion"]["id"].startswith("ver_")
    assert item["latestVersion"]["createdVia"] == "cloud"
    assert len(item["latestVersion"]["sha256"]) == 64
    version = ConfigObjectVersion.objects.get(pk=item["latestVersion"]["id"])
    assert version.raw_source_text == SKILL_V1


def test_create_answers_with_the_mutation_envelope_and_the_latest_version_as_etag(admin_api):
    response = admin_api.post(BASE, {"type": "context", "input": {"rawSourceText": "House style"}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    assert response["ETag"] == f'"{body["item"]["latestVersion"]["id"]}"'


def test_creating_from_normalized_json_works_for_an_mcp_server(admin_api):
    body = {"type": "mcp", "sourceMode": "import",
            "input": {"normalizedPayloadJson": {"name": "GitHub", "command": "npx", "args": ["gh-mcp"]},
                      "schemaVersion": "1"}}
    response = admin_api.post(BASE, body, format="json")
    assert response.status_code == 201
    item = response.json()["item"]
    assert (item["title"], item["latestVersion"]["createdVia"], item["latestVersion"]["schemaVersion"]) == (
        "GitHub", "import", "1")


@pytest.mark.parametrize(("body", "field"), [
    ({"sourceMode": "cloud", "input": {"rawSourceText": "x"}}, "type"),
    ({"type": "widget", "input": {"rawSourceText": "x"}}, "type"),
    ({"type": "skill"}, "input"),
    ({"type": "skill", "input": {}}, "input"),
    ({"type": "skill", "sourceMode": "fax", "input": {"rawSourceText": "x"}}, "sourceMode"),
])
def test_a_malformed_create_is_400_naming_the_field_and_stores_nothing(admin_api, body, field):
    response = admin_api.post(BASE, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"]
    assert not ConfigObject.objects.exists()


def test_bad_front_matter_is_a_400_naming_the_line_and_creates_nothing(admin_api):
    raw = "---\nname: Broken\ndescription: ok\n  oops: : x\n---\nbody"
    response = admin_api.post(BASE, {"type": "skill", "input": {"rawSourceText": raw}}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "line 4" in error["message"]
    assert error["details"] == {"field": "input.rawSourceText", "line": 4}
    assert not ConfigObject.objects.exists() and not ConfigObjectVersion.objects.exists()


def test_a_skill_sent_with_crlf_line_endings_takes_its_title_from_the_front_matter(admin_api, create):
    item = create(raw=SKILL_V1.replace("\n", "\r\n"))
    assert (item["title"], item["description"]) == (
        "Summarize tickets", "Turns a support thread into three bullet points.")
    assert ConfigObjectVersion.objects.get().raw_source_text == SKILL_V1.replace("\n", "\r\n")  # kept as sent
    again = add_version(admin_api, item["id"], SKILL_V1)  # the same content with LF endings
    assert (again.status_code, again.json()["created"]) == (200, False)


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_invalid_front_matter_is_a_400_naming_the_line_whatever_the_line_endings(admin_api, create, ending):
    raw = "---\nname: [broken\n---\nbody\n".replace("\n", ending)
    response = admin_api.post(BASE, {"type": "skill", "input": {"rawSourceText": raw}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "input.rawSourceText", "line": 2}
    assert not ConfigObject.objects.exists()
    item = create()
    assert add_version(admin_api, item["id"], raw).status_code == 400
    assert ConfigObjectVersion.objects.count() == 1


def test_an_mcp_server_with_neither_command_nor_url_is_a_400(admin_api):
    response = admin_api.post(BASE, {"type": "mcp", "input": {"rawSourceText": '{"name": "x"}'}}, format="json")
    assert response.status_code == 400
    assert "command" in response.json()["error"]["message"]


def test_a_payload_over_one_mebibyte_is_413(admin_api):
    response = admin_api.post(BASE, {"type": "context", "input": {"rawSourceText": "x" * (1024 * 1024 + 1)}},
                              format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not ConfigObject.objects.exists()


def test_get_returns_the_item_with_its_latest_version_and_etag(admin_api, create):
    item = create()
    response = admin_api.get(f"{BASE}/{item['id']}")
    assert response.status_code == 200
    assert response.json()["item"] == item
    assert response["ETag"] == f'"{item["latestVersion"]["id"]}"'


def test_a_new_version_with_the_latest_as_if_match_is_created_and_becomes_latest(admin_api, create):
    item = create()
    first = item["latestVersion"]["id"]
    response = add_version(admin_api, item["id"], SKILL_V2.replace("Summarize tickets", "Summarise tickets"),
                           if_match=first, reason="British spelling")
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True and body["created"] is True
    assert body["item"]["id"] != first and body["item"]["reason"] == "British spelling"
    assert response["ETag"] == f'"{body["item"]["id"]}"'
    latest = admin_api.get(f"{BASE}/{item['id']}/versions/latest").json()["item"]
    assert latest["id"] == body["item"]["id"]
    assert latest["rawSourceText"].startswith("---\nname: Summarise tickets")
    assert admin_api.get(f"{BASE}/{item['id']}").json()["item"]["title"] == "Summarise tickets"


def test_a_new_version_based_on_an_older_version_is_409_and_adds_nothing(admin_api, create):
    item = create()
    first = item["latestVersion"]["id"]
    second = add_version(admin_api, item["id"], SKILL_V2, if_match=first).json()["item"]["id"]
    for stale in (add_version(admin_api, item["id"], SKILL_V2 + "\nmore", if_match=first),
                  add_version(admin_api, item["id"], SKILL_V2 + "\nmore", baseVersionId=first)):
        assert stale.status_code == 409
        assert stale.json()["error"]["code"] == "conflict"
        assert stale.json()["error"]["details"] == {"latestVersionId": second}
    assert ConfigObjectVersion.objects.filter(config_object_id=item["id"]).count() == 2


def test_a_new_version_naming_the_latest_in_base_version_id_is_accepted(admin_api, create):
    item = create()
    response = add_version(admin_api, item["id"], SKILL_V2, baseVersionId=item["latestVersion"]["id"])
    assert response.status_code == 201


def test_a_new_version_equal_to_the_latest_is_not_created_and_says_so(admin_api, create):
    item = create()
    response = add_version(admin_api, item["id"], SKILL_V1, if_match=item["latestVersion"]["id"])
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["created"], body["item"]["id"]) == (True, False, item["latestVersion"]["id"])
    assert ConfigObjectVersion.objects.filter(config_object_id=item["id"]).count() == 1


def test_an_invalid_new_version_is_400_and_the_latest_is_unchanged(admin_api, create):
    item = create()
    response = add_version(admin_api, item["id"], "---\nname: [\n---\n")
    assert response.status_code == 400
    assert "line 2" in response.json()["error"]["message"]
    assert admin_api.get(f"{BASE}/{item['id']}/versions/latest").json()["item"]["id"] == item["latestVersion"]["id"]


def test_versions_are_listed_newest_first_and_each_can_be_read(admin_api, create):
    item = create()
    ids = [item["latestVersion"]["id"]]
    for n in range(3):
        ids.append(add_version(admin_api, item["id"], SKILL_V2 + f"\nstep {n}").json()["item"]["id"])
    page = admin_api.get(f"{BASE}/{item['id']}/versions", {"limit": 2}).json()
    assert [v["id"] for v in page["items"]] == ids[::-1][:2]
    rest = admin_api.get(f"{BASE}/{item['id']}/versions", {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [v["id"] for v in rest["items"]] == ids[::-1][2:]
    assert "rawSourceText" not in page["items"][0]  # lists stay small: payloads are on the detail
    one = admin_api.get(f"{BASE}/{item['id']}/versions/{ids[0]}").json()["item"]
    assert one["rawSourceText"] == SKILL_V1 and one["configObjectId"] == item["id"]


def test_compare_gives_a_unified_diff_between_two_versions(admin_api, create):
    item = create()
    old = item["latestVersion"]["id"]
    new = add_version(admin_api, item["id"], SKILL_V2).json()["item"]["id"]
    response = admin_api.get(f"{BASE}/{item['id']}/versions/compare", {"from": old, "to": new})
    assert response.status_code == 200
    result = response.json()["item"]
    assert (result["fromVersionId"], result["toVersionId"], result["identical"]) == (old, new, False)
    assert f"--- {old}" in result["diff"] and f"+++ {new}" in result["diff"]
    assert "-Read the thread, then write three bullets." in result["diff"]
    assert "+End with the customer's mood." in result["diff"]


def test_compare_marks_a_missing_newline_at_the_end_as_diff_u_does(admin_api, create):
    item = create(type_="context", raw="Intro\nSteps...")
    new = add_version(admin_api, item["id"], "Intro\nBetter steps").json()["item"]["id"]
    diff = admin_api.get(f"{BASE}/{item['id']}/versions/compare",
                         {"from": item["latestVersion"]["id"], "to": new}).json()["item"]["diff"]
    assert diff.splitlines()[2:] == ["@@ -1,2 +1,2 @@", " Intro", "-Steps...", "\\ No newline at end of file",
                                     "+Better steps", "\\ No newline at end of file"]
    assert diff.endswith("\n")


def test_compare_shows_a_newline_added_at_the_end(admin_api, create):
    item = create(type_="context", raw="Steps...")
    new = add_version(admin_api, item["id"], "Steps...\n").json()["item"]["id"]
    diff = admin_api.get(f"{BASE}/{item['id']}/versions/compare",
                         {"from": item["latestVersion"]["id"], "to": new}).json()["item"]["diff"]
    assert diff.splitlines()[3:] == ["-Steps...", "\\ No newline at end of file", "+Steps..."]


def test_compare_splits_lines_at_newlines_only_not_at_form_feeds_or_unicode_separators(admin_api, create):
    page = "Page one\x0cPage two\u2028still two"
    item = create(type_="context", raw=f"{page}\nEnd\n")
    new = add_version(admin_api, item["id"], f"{page}\nThe end\n").json()["item"]["id"]
    diff = admin_api.get(f"{BASE}/{item['id']}/versions/compare",
                         {"from": item["latestVersion"]["id"], "to": new}).json()["item"]["diff"]
    assert diff.split("\n")[2:] == ["@@ -1,2 +1,2 @@", f" {page}", "-End", "+The end", ""]


def test_compare_of_an_lf_and_a_crlf_version_shows_only_the_lines_that_changed(admin_api, create):
    item = create()
    new = add_version(admin_api, item["id"], SKILL_V2.replace("\n", "\r\n")).json()["item"]["id"]
    diff = admin_api.get(f"{BASE}/{item['id']}/versions/compare",
                         {"from": item["latestVersion"]["id"], "to": new}).json()["item"]["diff"]
    assert "\r" not in diff
    assert [line for line in diff.splitlines()[2:] if line.startswith(("-", "+"))] == [
        "-Read the thread, then write three bullets.", "+Read the thread, then write three short bullets.",
        "+End with the customer's mood."]


def test_compare_of_json_versions_diffs_their_pretty_printed_json(admin_api):
    item = admin_api.post(BASE, {"type": "custom", "input": {"normalizedPayloadJson": {"a": 1}}},
                          format="json").json()["item"]
    new = admin_api.post(f"{BASE}/{item['id']}/versions", {"input": {"normalizedPayloadJson": {"a": 2}}},
                         format="json").json()["item"]["id"]
    diff = admin_api.get(f"{BASE}/{item['id']}/versions/compare",
                         {"from": item["latestVersion"]["id"], "to": new}).json()["item"]["diff"]
    assert '-  "a": 1' in diff and '+  "a": 2' in diff


@pytest.mark.parametrize("query", [{}, {"from": "ver_nope", "to": "ver_nope"}])
def test_compare_without_two_known_versions_is_an_error(admin_api, create, query):
    item = create()
    response = admin_api.get(f"{BASE}/{item['id']}/versions/compare", query)
    assert response.status_code == (400 if not query else 404)


def test_list_has_one_row_per_object_with_its_latest_version_and_filters(admin_api, create):
    skill = create()
    newer = add_version(admin_api, skill["id"], SKILL_V2).json()["item"]["id"]
    mcp = create("mcp", '{"name": "Search", "url": "https://mcp.example.com"}', source_mode="import")
    context = create("context", "Glossary\n\nMRR means monthly recurring revenue.")
    items = admin_api.get(BASE).json()["items"]
    assert [i["id"] for i in items] == [context["id"], mcp["id"], skill["id"]]
    assert next(i for i in items if i["id"] == skill["id"])["latestVersion"]["id"] == newer

    def ids(**query):
        response = admin_api.get(BASE, query)
        assert response.status_code == 200
        return {i["id"] for i in response.json()["items"]}

    assert ids(type="mcp") == {mcp["id"]}
    assert ids(sourceMode="import") == {mcp["id"]}
    assert ids(q="support thread") == {skill["id"]}  # the description
    assert ids(q="GLOSSARY") == {context["id"]}  # the title, any case
    assert ids(status="archived") == set()


def test_an_unknown_filter_value_is_a_400(admin_api):
    response = admin_api.get(BASE, {"type": "widget"})
    assert response.status_code == 400
    assert "type" in response.json()["error"]["message"]


def test_listing_costs_the_same_queries_for_two_objects_or_twelve(admin_api, create):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(BASE).status_code == 200
        return len(queries)

    for _ in range(2):
        create()
    few = count()
    for n in range(10):
        item = create("context", f"note {n}")
        add_version(admin_api, item["id"], f"note {n} revised")
    assert count() == few


def test_archived_objects_take_no_new_versions_until_restored(admin_api, create):
    item = create()
    response = admin_api.post(f"{BASE}/{item['id']}/archive")
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["item"]["status"] == "archived"
    assert add_version(admin_api, item["id"], SKILL_V2).status_code == 409
    restored = admin_api.post(f"{BASE}/{item['id']}/restore")
    assert restored.json()["item"]["status"] == "active"
    assert add_version(admin_api, item["id"], SKILL_V2).status_code == 201


def test_delete_is_soft_and_hides_the_object_unless_include_deleted(admin_api, create):
    item = create()
    assert admin_api.delete(f"{BASE}/{item['id']}").status_code == 204
    row = ConfigObject.objects.get(pk=item["id"])
    assert row.status == "deleted" and row.deleted_at is not None
    assert row.versions.count() == 1
    assert admin_api.get(BASE).json()["items"] == []
    assert [i["id"] for i in admin_api.get(BASE, {"includeDeleted": "true"}).json()["items"]] == [item["id"]]
    assert admin_api.get(f"{BASE}/{item['id']}").status_code == 404
    assert admin_api.get(f"{BASE}/{item['id']}", {"includeDeleted": "true"}).json()["item"]["status"] == "deleted"
    assert add_version(admin_api, item["id"], SKILL_V2).status_code == 404
    assert admin_api.delete(f"{BASE}/{item['id']}").status_code == 404


def test_restore_brings_a_deleted_object_back(admin_api, create):
    item = create()
    admin_api.delete(f"{BASE}/{item['id']}")
    response = admin_api.post(f"{BASE}/{item['id']}/restore")
    assert response.status_code == 200
    assert (response.json()["item"]["status"], response.json()["item"]["deletedAt"]) == ("active", None)
    assert [i["id"] for i in admin_api.get(BASE).json()["items"]] == [item["id"]]


def test_restoring_an_active_object_changes_nothing_and_archiving_a_deleted_one_is_404(admin_api, create):
    item = create()
    assert admin_api.post(f"{BASE}/{item['id']}/restore").json()["item"]["status"] == "active"
    admin_api.delete(f"{BASE}/{item['id']}")
    assert admin_api.post(f"{BASE}/{item['id']}/archive").status_code == 404


def test_an_unknown_object_is_404_in_the_api_v1_dialect(admin_api):
    response = admin_api.get(f"{BASE}/cfo_missing")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["requestId"]


# --- who may call (the whole RBAC table is in test_access.py) ---------------------------------------------


def _every_endpoint(object_id, version_id):
    obj = f"{BASE}/{object_id}"
    body = {"input": {"rawSourceText": "changed"}}
    return [
        ("get", obj, None), ("delete", obj, None), ("post", f"{obj}/archive", None), ("post", f"{obj}/restore", None),
        ("get", f"{obj}/versions", None), ("post", f"{obj}/versions", body), ("get", f"{obj}/versions/latest", None),
        ("get", f"{obj}/versions/{version_id}", None),
        ("get", f"{obj}/versions/compare?from={version_id}&to={version_id}", None),
    ]


@pytest.mark.parametrize("who", ["plugin_key", "member_key"])
def test_keys_without_a_grant_see_no_objects_and_get_403_naming_the_missing_access(api, create, request, who):
    item = create("context", "secret notes")
    client = api(request.getfixturevalue(who).token)
    assert client.get(BASE).json()["items"] == []
    for method, url, body in _every_endpoint(item["id"], item["latestVersion"]["id"]):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
        error = response.json()["error"]
        assert error["code"] == "resource_access_denied", (method, url)
        assert "no access to this config object" in error["message"]
    assert ConfigObject.objects.get().status == "active"
    assert ConfigObjectVersion.objects.count() == 1


def test_a_plugin_key_may_not_create_config_objects_for_lack_of_an_org_capability(api, plugin_key):
    response = api(plugin_key.token).post(BASE, {"type": "context", "input": {"rawSourceText": "x"}}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "org_capability_required"
    assert not ConfigObject.objects.exists()


def test_a_member_creates_a_config_object_and_becomes_its_manager(api, member, member_key, create):
    item = create(client=api(member_key.token))
    grants = api(member_key.token).get(f"{BASE}/{item['id']}/grants").json()["items"]
    assert [(g["orgMembershipId"], g["role"]) for g in grants] == [(member.pk, "manager")]


def test_an_org_admin_member_may_use_the_api(api, org_admin, create):
    from plexica.tenancy.services import issue_api_key

    token = issue_api_key(org_admin.organization, name="ada's key", membership=org_admin)[1]
    item = create(client=api(token))
    assert ConfigObject.objects.get(pk=item["id"]).created_by == org_admin.user
    assert item["createdBy"] == org_admin.user.username


def test_another_organization_sees_none_of_these_objects_on_any_endpoint(api, create, other_org_key):
    item = create("context", "acme only")
    foreign = api(other_org_key.token, tenant="globex")
    for method, url, body in _every_endpoint(item["id"], item["latestVersion"]["id"]):
        response = getattr(foreign, method)(url, body, format="json")
        if url == BASE:
            assert response.status_code in (200, 201), (method, url)
            if method == "get":
                assert response.json()["items"] == []
        else:
            assert response.status_code == 404, (method, url)
    assert ConfigObject.objects.get(pk=item["id"]).status == "active"
    assert ConfigObjectVersion.objects.filter(config_object_id=item["id"]).count() == 1
    assert foreign.post(BASE, {"type": "context", "input": {"rawSourceText": "x"}}, format="json").status_code == 201
    assert [i["id"] for i in foreign.get(BASE, {"includeDeleted": "true"}).json()["items"]] != [item["id"]]
    assert item["id"] not in [i["id"] for i in foreign.get(BASE, {"includeDeleted": "true"}).json()["items"]]


def test_a_key_of_another_organization_naming_this_one_is_403(api, create, other_org_key):
    create()
    response = api(other_org_key.token, tenant="acme-corp").get(BASE)
    assert response.status_code == 403


def test_a_deleted_objects_versions_are_readable_only_with_include_deleted(admin_api, create):
    item = create()
    admin_api.delete(f"{BASE}/{item['id']}")
    assert admin_api.get(f"{BASE}/{item['id']}/versions").status_code == 404
    listed = admin_api.get(f"{BASE}/{item['id']}/versions", {"includeDeleted": "true"}).json()["items"]
    assert [v["id"] for v in listed] == [item["latestVersion"]["id"]]
    assert [i["id"] for i in admin_api.get(BASE, {"status": "deleted"}).json()["items"]] == [item["id"]]


def test_if_match_star_accepts_any_latest_but_disagreeing_preconditions_conflict(admin_api, create):
    item = create()
    first = item["latestVersion"]["id"]
    assert add_version(admin_api, item["id"], SKILL_V2, if_match="*").status_code == 201
    response = admin_api.post(f"{BASE}/{item['id']}/versions", {"input": {"rawSourceText": "x"}, "baseVersionId": first},
                              format="json", HTTP_IF_MATCH='W/"ver_somethingelse"')
    assert response.status_code == 409
