"""The plugin dependency admin: scoped to the admin's organizations, validated like the gateway."""

from django.contrib.admin.utils import quote
from django.urls import reverse

from dependencies.models import PluginDependency
from plexica.plugins.models import Plugin


def depend(plugin, on, version="^1.0.0", required=True):
    return PluginDependency.objects.create(plugin=plugin, depends_on_plugin_id=on, version=version, required=required)


def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def test_an_org_admin_lists_filters_and_searches_only_their_dependencies(client, org_admin, crm_plugin, other_org):
    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-erp", name="erp")
    mail = depend(crm_plugin, "plugin-mail")
    maps = depend(crm_plugin, "plugin-maps", "*", required=False)
    theirs = depend(foreign, "plugin-mail")
    client.force_login(org_admin.user)
    url = reverse("admin:dependencies_plugindependency_changelist")

    assert listed(client.get(url)) == {mail.pk, maps.pk}
    assert listed(client.get(url, {"required__exact": "0"})) == {maps.pk}
    assert listed(client.get(url, {"q": "maps"})) == {maps.pk}
    assert client.get(reverse("admin:dependencies_plugindependency_change", args=[quote(theirs.pk)])).status_code in (302, 404)


def test_adding_a_dependency_with_a_bad_range_or_on_itself_is_refused(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    url = reverse("admin:dependencies_plugindependency_add")
    bad_range = client.post(url, {"plugin": crm_plugin.pk, "depends_on_plugin_id": "plugin-mail", "version": "^^1"})
    assert bad_range.status_code == 200
    assert "is not a valid npm version range" in bad_range.content.decode()
    itself = client.post(url, {"plugin": crm_plugin.pk, "depends_on_plugin_id": "plugin-crm", "version": "*"})
    assert "A plugin cannot depend on itself." in itself.content.decode()
    assert not PluginDependency.objects.exists()

    good = client.post(
        url, {"plugin": crm_plugin.pk, "depends_on_plugin_id": "plugin-mail", "version": "1.x || >=2.5.0",
              "required": "on"},
    )
    assert good.status_code == 302
    dependency = PluginDependency.objects.get()
    assert dependency.organization_id == crm_plugin.organization_id and dependency.required


def test_a_dependency_added_with_an_empty_range_means_any_version(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    url = reverse("admin:dependencies_plugindependency_add")
    response = client.post(url, {"plugin": crm_plugin.pk, "depends_on_plugin_id": "plugin-mail",
                                 "version": ""})
    assert response.status_code == 302
    assert PluginDependency.objects.get().version == ""


def test_the_plugin_page_shows_what_the_plugin_depends_on(client, org_admin, crm_plugin):
    depend(crm_plugin, "plugin-mail", ">=2.0.0 <3")
    client.force_login(org_admin.user)
    page = client.get(reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)])).content.decode()
    assert "plugin-mail" in page and "&gt;=2.0.0 &lt;3" in page


def test_the_dependency_list_shows_each_edge_against_what_is_installed_as_badges(client, org, org_admin, crm_plugin):
    Plugin.objects.create(organization=org, plugin_id="plugin-mail", name="Mail", version="2.3.0",
                          lifecycle_state="active")
    Plugin.objects.create(organization=org, plugin_id="plugin-maps", name="Maps", version="1.0.0",
                          lifecycle_state="installed")
    depend(crm_plugin, "plugin-mail", "^2.0.0")
    depend(crm_plugin, "plugin-maps", "^3.0.0")
    depend(crm_plugin, "plugin-fax", "*", required=False)
    client.force_login(org_admin.user)
    html = client.get(reverse("admin:dependencies_plugindependency_changelist")).content.decode()
    assert 'badge-green">Satisfied: 2.3.0</span>' in html
    assert 'badge-red">Mismatch: 1.0.0</span>' in html
    assert 'badge-yellow">Missing</span>' in html  # optional: a warning, not an error
    assert "CRM (plugin-crm)" in html


def test_the_dependencys_plugin_is_picked_with_the_organizations_autocomplete(client, org_admin):
    client.force_login(org_admin.user)
    form = client.get(reverse("admin:dependencies_plugindependency_add")).context["adminform"].form
    assert "autocomplete" in form.fields["plugin"].widget.widget.__class__.__name__.lower()
