from plexica.plugins.models import Plugin


def _plugins(org, *ids, **fields):
    return [Plugin.objects.create(organization=org, plugin_id=pid, name=pid[7:], **fields) for pid in ids]


def test_plugin_catalog_lists_only_the_callers_org(api, org, other_org, org_key):
    _plugins(org, "plugin-crm", "plugin-analytics")
    _plugins(other_org, "plugin-secret")
    items = api(org_key.token).get("/api/v1/plugins").json()["items"]
    assert [item["id"] for item in items] == ["plugin-analytics", "plugin-crm"]


def test_plugin_detail_and_foreign_plugin_is_404(api, org, other_org, org_key):
    _plugins(org, "plugin-crm")
    _plugins(other_org, "plugin-secret")
    client = api(org_key.token)
    item = client.get("/api/v1/plugins/plugin-crm").json()["item"]
    assert item["id"] == "plugin-crm" and item["lifecycleState"] == "registered" and item["catalogStatus"] == "active"
    assert client.get("/api/v1/plugins/plugin-secret").status_code == 404


def test_plugin_catalog_filters_by_state_and_text(api, org, org_key):
    _plugins(org, "plugin-crm", lifecycle_state=Plugin.LifecycleState.ACTIVE, description="Contacts and deals")
    _plugins(org, "plugin-analytics")
    client = api(org_key.token)
    assert [i["id"] for i in client.get("/api/v1/plugins", {"lifecycleState": "active"}).json()["items"]] == ["plugin-crm"]
    assert [i["id"] for i in client.get("/api/v1/plugins", {"q": "deals"}).json()["items"]] == ["plugin-crm"]
    response = client.get("/api/v1/plugins", {"lifecycleState": "sleeping"})
    assert response.status_code == 400
    assert "lifecycleState" in response.json()["error"]["details"]


def test_plugin_list_does_a_bounded_number_of_queries(api, org, org_key, django_assert_max_num_queries):
    _plugins(org, *[f"plugin-p{n}" for n in range(30)])
    client = api(org_key.token)
    client.get("/api/v1/plugins")  # warm last-used
    with django_assert_max_num_queries(2):
        assert len(client.get("/api/v1/plugins", {"limit": 30}).json()["items"]) == 30
