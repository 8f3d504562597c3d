"""Permission grants: the strings the gateway requires, granted per plugin in the admin and the API."""

from django.contrib.admin.utils import quote
from django.urls import reverse

from plexica.plugins.models import PermissionGrant, Plugin
from plexica.plugins.services import grant_permission
from plexica.tenancy.principal import Principal


def test_org_admin_grants_lists_and_revokes_a_permission(api, org_key, crm_plugin):
    client = api(org_key.token)
    url = "/api/v1/plugins/plugin-crm/permissions"
    created = client.post(url, {"permission": "crm:contacts:read"}, format="json")
    assert created.status_code == 201
    assert created.json()["item"]["permission"] == "crm:contacts:read"
    assert "id" not in created.json()["item"]  # no bare row numbers on the wire
    again = client.post(url, {"permission": "crm:contacts:read"}, format="json")
    assert again.status_code == 200  # idempotent
    assert [i["permission"] for i in client.get(url).json()["items"]] == ["crm:contacts:read"]
    assert client.delete(f"{url}/crm:contacts:read").status_code == 204
    assert client.get(url).json()["items"] == []
    missing = client.delete(f"{url}/crm:contacts:read")
    assert missing.status_code == 404


def test_a_malformed_permission_is_400_and_nothing_is_granted(api, org_key, crm_plugin):
    response = api(org_key.token).post(
        "/api/v1/plugins/plugin-crm/permissions", {"permission": "has spaces"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("permission:")
    assert not PermissionGrant.objects.exists()


def test_a_plugin_cannot_grant_itself_permissions(api, plugin_key):
    response = api(plugin_key.token).post(
        "/api/v1/plugins/plugin-crm/permissions", {"permission": "crm:admin"}, format="json"
    )
    assert response.status_code == 403
    assert not PermissionGrant.objects.exists()


def test_grants_of_another_orgs_plugin_are_out_of_reach(api, org_key, other_org):
    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-erp", name="erp")
    grant_permission(Principal.system(other_org), "plugin-erp", "erp:read")
    client = api(org_key.token)
    assert client.get("/api/v1/plugins/plugin-erp/permissions").status_code == 404
    assert client.post("/api/v1/plugins/plugin-erp/permissions", {"permission": "x"}, format="json").status_code == 404
    assert client.delete("/api/v1/plugins/plugin-erp/permissions/erp:read").status_code == 404
    assert PermissionGrant.objects.filter(plugin=foreign).count() == 1


def test_org_admin_grants_a_permission_in_the_plugin_admin_page(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    url = reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)])
    page = client.get(url)
    assert page.status_code == 200
    form = {
        "plugin_id": "plugin-crm", "name": "CRM", "description": "", "version": "1.0.0", "manifest": "{}",
        "lifecycle_state": "registered", "catalog_status": "active",
        "permission_grants-TOTAL_FORMS": "1", "permission_grants-INITIAL_FORMS": "0",
        "permission_grants-MIN_NUM_FORMS": "0", "permission_grants-MAX_NUM_FORMS": "1000",
        "permission_grants-0-permission": "crm:contacts:read",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.context and response.context["errors"]
    grant = PermissionGrant.objects.get(plugin=crm_plugin)
    assert grant.permission == "crm:contacts:read"
    assert grant.organization_id == crm_plugin.organization_id
    assert grant.granted_by == org_admin.user


def test_org_admin_sees_only_their_orgs_grants_in_the_admin(client, org_admin, crm_plugin, other_org):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-erp", name="erp")
    mine, _ = grant_permission(Principal.system(crm_plugin.organization), "plugin-crm", "crm:contacts:read")
    theirs, _ = grant_permission(Principal.system(other_org), "plugin-erp", "erp:read")
    client.force_login(org_admin.user)
    response = client.get(reverse("admin:plugins_permissiongrant_changelist"))
    assert {g.pk for g in response.context["cl"].result_list} == {mine.pk}
    assert client.get(reverse("admin:plugins_permissiongrant_change", args=[quote(theirs.pk)])).status_code in (302, 404)


def test_the_plugin_page_changes_and_removes_grants_through_the_service(client, org_admin, crm_plugin):
    mine, _ = grant_permission(Principal.system(crm_plugin.organization), "plugin-crm", "crm:contacts:read")
    client.force_login(org_admin.user)
    url = reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)])
    form = {
        "plugin_id": "plugin-crm", "name": "CRM", "description": "", "version": "1.0.0", "manifest": "{}",
        "lifecycle_state": "registered", "catalog_status": "active",
        "permission_grants-TOTAL_FORMS": "1", "permission_grants-INITIAL_FORMS": "1",
        "permission_grants-MIN_NUM_FORMS": "0", "permission_grants-MAX_NUM_FORMS": "1000",
        "permission_grants-0-id": mine.pk, "permission_grants-0-plugin": crm_plugin.pk,
        "permission_grants-0-permission": "crm:contacts:write",
    }
    assert client.post(url, form).status_code == 302
    assert list(PermissionGrant.objects.filter(plugin=crm_plugin).values_list("permission", flat=True)) == [
        "crm:contacts:write"]
    changed = PermissionGrant.objects.get(plugin=crm_plugin)
    form.update({"permission_grants-0-id": changed.pk, "permission_grants-0-DELETE": "on"})
    assert client.post(url, form).status_code == 302
    assert not PermissionGrant.objects.filter(plugin=crm_plugin).exists()
