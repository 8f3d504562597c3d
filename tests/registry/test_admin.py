from datetime import timedelta

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from registry.models import PluginService, ServiceHealthCheck
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


# --- Active health checks in the admin ---------------------------------------------------------


def _checked_services(org, count):
    from tests.gateway.upstream import Upstream

    from registry.health_checks import run_health_checks

    with Upstream() as upstream:
        upstream.reply("/health", 503, json={"status": "fail", "output": "database unreachable"},
                       headers={"Content-Type": "application/health+json"})
        services = [register_service(Principal.system(org), Registration(
            plugin_id="plugin-crm", service_name=f"crm.part{index}", version="1.0.0", base_url=upstream.url,
        ))[0] for index in range(count)]
        run_health_checks()
    return services


def test_the_plugin_page_shows_its_services_last_checks_in_flat_queries(
        client, org_admin, org, django_assert_max_num_queries):
    import re

    [service] = _checked_services(org, 1)
    plugin = Plugin.objects.get(plugin_id="plugin-crm")
    client.force_login(org_admin.user)
    url = reverse("admin:plugins_plugin_change", args=[quote(plugin.pk)])
    html = client.get(url).content.decode()
    checks = re.search(r'<table class="plexica-table" id="plugin-health-checks">.*?</table>', html, re.DOTALL).group(0)
    assert service.service_name in checks and "HTTP 503 error: database unreachable" in checks
    assert "503" in checks and " ms" in checks and "Fail" in checks
    services = re.search(r'<table class="plexica-table" id="plugin-services">.*?</table>', html, re.DOTALL).group(0)
    assert "last check" in services and "Fail" in services

    with django_assert_max_num_queries(200) as one:
        client.get(url)
    for index in range(5):  # more services, each with a check: the page costs no more queries
        more = register_service(Principal.system(org), Registration(
            plugin_id="plugin-crm", service_name=f"crm.more{index}", version="1.0.0"))[0]
        ServiceHealthCheck.objects.create(organization=org, service=more, outcome="pass", http_status=200,
                                          duration_ms=3)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)


def test_the_service_page_shows_the_check_state_and_history(client, org_admin, org):
    [service] = _checked_services(org, 1)
    client.force_login(org_admin.user)
    response = client.get(reverse("admin:registry_pluginservice_change", args=[quote(service.pk)]))
    html = response.content.decode()
    assert "health checks" in html.lower() and "1 failure(s), 0 success(es) in a row" in html
    history = response.context["inline_admin_formsets"][2].formset.queryset
    assert [(c.outcome, c.http_status, c.reason) for c in history] == [
        ("fail", 503, "HTTP 503 error: database unreachable")]
    changelist = client.get(reverse("admin:registry_pluginservice_changelist")).content.decode()
    assert "last check" in changelist.lower()
