from datetime import timedelta

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from registry.models import PluginService
from registry.services import Registration, find_service, register_service, sweep_service_health


def _register(org, plugin_id, name, seconds_ago=0):
    return register_service(
        Principal.system(org), Registration(plugin_id=plugin_id, service_name=name, version="1.0.0"),
        now=timezone.now() - timedelta(seconds=seconds_ago),
    )[0]


def test_org_admin_sees_their_services_with_live_status_and_health_history(client, org_admin, org, other_org):
    mine = _register(org, "plugin-crm", "crm.contacts", seconds_ago=120)
    theirs = _register(other_org, "plugin-erp", "erp.orders")
    sweep_service_health()
    client.force_login(org_admin.user)

    changelist = client.get(reverse("admin:registry_pluginservice_changelist"))
    assert {s.pk for s in changelist.context["cl"].result_list} == {mine.pk}
    assert "DEGRADED" in changelist.content.decode()

    response = client.get(reverse("admin:registry_pluginservice_change", args=[quote(mine.pk)]))
    assert "health history" in response.content.decode().lower()
    history = response.context["inline_admin_formsets"][1].formset.queryset
    assert [(t.from_status, t.to_status, t.cause) for t in history] == [("HEALTHY", "DEGRADED", "sweep")]
    assert client.get(reverse("admin:registry_pluginservice_change", args=[quote(theirs.pk)])).status_code in (302, 404)


def test_removing_a_service_in_the_admin_removes_it_from_discovery(client, org_admin, org):
    service = _register(org, "plugin-crm", "crm.contacts")
    assert find_service(org, "crm.contacts") is not None  # now cached
    client.force_login(org_admin.user)
    response = client.post(reverse("admin:registry_pluginservice_delete", args=[quote(service.pk)]), {"post": "yes"})
    assert response.status_code == 302
    assert not PluginService.objects.filter(pk=service.pk).exists()
    assert find_service(org, "crm.contacts") is None
    assert Plugin.objects.filter(organization=org, plugin_id="plugin-crm").exists()


def test_the_service_list_shows_health_as_badges_and_the_heartbeats_age(client, org_admin, org):
    _register(org, "plugin-crm", "crm.contacts", seconds_ago=120)
    _register(org, "plugin-crm", "crm.deals")
    client.force_login(org_admin.user)
    html = client.get(reverse("admin:registry_pluginservice_changelist")).content.decode()
    assert 'badge-yellow">Degraded</span>' in html and 'badge-green">Healthy</span>' in html
    assert "2\xa0minutes ago" in html


def test_a_service_with_health_history_is_removed_with_it_although_the_history_itself_is_read_only(client, org_admin,
                                                                                                    org):
    service = _register(org, "plugin-crm", "crm.contacts", seconds_ago=120)
    sweep_service_health()
    client.force_login(org_admin.user)
    url = reverse("admin:registry_pluginservice_delete", args=[quote(service.pk)])
    assert not client.get(url).context["perms_lacking"]
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not PluginService.objects.filter(pk=service.pk).exists()
