"""The webhook endpoint admin: list, add (the network policy, the secret shown once), the endpoint page's
buttons (test event, rotate, enable, disable) and delete, all through the endpoint services; never another
organization's endpoints; flat query counts."""

import re

import pytest
from django.contrib.admin.utils import quote
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from plexica.events.log import emit
from plexica.events.models import Event
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from tests.adminsite.querycount import assert_flat
from webhooks.outbound import endpoints
from webhooks.outbound.models import WebhookEndpoint, WebhookMessage

URL = "https://93.184.216.34/hooks/plexica"
CHANGELIST = "admin:webhooks_webhookendpoint_changelist"
ADD = "admin:webhooks_webhookendpoint_add"


def page(pk):
    return reverse("admin:webhooks_webhookendpoint_change", args=[quote(pk)])


def action(pk):
    return reverse("admin:webhooks_webhookendpoint_action", args=[quote(pk)])


def make(org, **fields):
    fields.setdefault("url", URL)
    fields.setdefault("events", ["config_object.*"])
    return endpoints.create_endpoint(Principal.system(org), **fields)[0]


def shown_secret(html):
    found = re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', html)
    return found.group(1) if found else None


@pytest.fixture
def logged_in(client, org_admin):
    client.force_login(org_admin.user)
    return client


@pytest.fixture
def mine(org):
    return make(org, description="CRM sync", events=["config_object.*", "plugin.installed"])


@pytest.fixture
def theirs(other_org):
    return make(other_org, url="https://93.184.216.99/globex-private", description="Globex private hook")


# The list


def test_the_list_shows_url_events_state_ordering_and_failing_run_and_nothing_of_another_org(
        logged_in, org, mine, theirs):
    failing = make(org, url="https://93.184.216.35/failing", ordered=True)
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        enabled=False, disabled_reason="failing", disabled_at=timezone.now(), failing_since=timezone.now())
    gone = make(org, url="https://93.184.216.36/gone")
    WebhookEndpoint.objects.filter(pk=gone.pk).update(enabled=False, disabled_reason="gone")
    response = logged_in.get(reverse(CHANGELIST))
    html = response.content.decode()
    assert response.status_code == 200
    assert "CRM sync" in html and URL in html and "<code>config_object.*</code>" in html
    assert 'badge-green">Enabled' in html and "Disabled: failing too long" in html
    assert "Disabled: answered 410 Gone" in html
    assert "Globex" not in html and "93.184.216.99" not in html
    assert logged_in.get(page(theirs.pk)).status_code in (302, 404)


def test_deleted_endpoints_are_listed_only_when_asked_for(logged_in, org, mine):
    deleted = make(org, url="https://93.184.216.37/old", description="Retired hook")
    endpoints.delete_endpoint(Principal.system(org), deleted.pk)
    assert "Retired hook" not in logged_in.get(reverse(CHANGELIST)).content.decode()
    html = logged_in.get(reverse(CHANGELIST) + "?state=deleted").content.decode()
    assert "Retired hook" in html and "CRM sync" not in html
    # Its page is read-only, without buttons.
    detail = logged_in.get(page(deleted.pk)).content.decode()
    assert 'id="endpoint-action-form"' not in detail and 'name="_save"' not in detail
    assert logged_in.post(action(deleted.pk), {"action": "enable"}).status_code == 404


def test_the_changelist_costs_the_same_queries_with_many_endpoints(logged_in, org, mine):
    plugin = Plugin.objects.create(organization=org, plugin_id="plugin-bulk", name="Bulk")

    def grow():
        WebhookEndpoint.objects.bulk_create([
            WebhookEndpoint(organization=org, url=f"https://93.184.216.34/{n}", event_types=["a.b", "c.*"],
                            secret="s" * 16, plugin=plugin if n % 2 else None, created_by=None)
            for n in range(300)])

    assert_flat(logged_in, reverse(CHANGELIST), grow)


# Adding


def test_adding_an_endpoint_validates_through_the_services_and_shows_the_secret_once(logged_in, org):
    response = logged_in.post(reverse(ADD), {
        "organization": org.pk, "url": URL, "events": "config_object.*, plugin.installed\n*.created\n\nplugin.installed",
        "description": "Billing", "ordered": "on",
    })
    assert response.status_code == 200
    html = response.content.decode()
    secret = shown_secret(html)
    assert secret and secret.startswith("whsec_") and "will not be shown again" in html
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret and endpoint.url == URL and endpoint.ordered and endpoint.enabled
    assert endpoint.event_types == ["config_object.*", "plugin.installed", "*.created"]
    assert endpoint.description == "Billing" and endpoint.organization == org
    assert endpoint.created_by.username == "ada" and endpoint.plugin is None
    # Never shown again: not on its page, not in the list, not in a message.
    assert secret not in logged_in.get(page(endpoint.pk)).content.decode()
    assert secret not in logged_in.get(reverse(CHANGELIST)).content.decode()


@pytest.mark.parametrize(("url", "says"), [
    ("http://127.0.0.1:18300/hook", "is not public and is outside WEBHOOK_ALLOWED_NETWORKS"),
    ("http://169.254.169.254/latest/meta-data/", "never allowed"),
    ("http://localhost/hook", "is not public"),
    ("ftp://93.184.216.34/x", "absolute http:// or https://"),
])
def test_the_add_form_refuses_a_url_the_policy_refuses_naming_the_field(logged_in, org, url, says):
    response = logged_in.post(reverse(ADD), {"organization": org.pk, "url": url, "events": "*"})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert says in " ".join(form.errors["url"])
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"])
def test_the_add_form_takes_a_local_url_the_setting_opens(logged_in, org):
    response = logged_in.post(reverse(ADD), {"organization": org.pk, "url": "http://127.0.0.1:18300/hook",
                                             "events": "*"})
    assert shown_secret(response.content.decode())
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:18300/hook"


@pytest.mark.parametrize(("events", "says"), [("", "required"), ("bad..type", "type filter"),
                                              (",".join(f"t{n}.x" for n in range(51)), "At most 50")])
def test_the_add_form_refuses_bad_event_filters(logged_in, org, events, says):
    response = logged_in.post(reverse(ADD), {"organization": org.pk, "url": URL, "events": events})
    form = response.context["adminform"].form
    assert says in " ".join(form.errors["events"])
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_cannot_add_an_endpoint_to_another_organization(logged_in, other_org):
    response = logged_in.post(reverse(ADD), {"organization": other_org.pk, "url": URL, "events": "*"})
    assert response.status_code == 200 and "organization" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


# The endpoint page


def test_the_endpoint_page_shows_its_state_and_buttons(logged_in, mine):
    html = logged_in.get(page(mine.pk)).content.decode()
    for button in ("endpoint-test-button", "endpoint-rotate-button", "endpoint-disable-button"):
        assert f'id="{button}"' in html
    assert 'id="endpoint-enable-button"' not in html and 'id="endpoint-action-form"' in html
    assert "config_object.*\nplugin.installed" in html  # the filters, one per line, ready to edit
    assert mine.secret not in html


def test_changing_the_url_and_filters_goes_through_the_services(logged_in, org, mine):
    form = {"url": "https://93.184.216.40/v2", "events": "plugin.*", "description": "CRM v2", "_save": "Save"}
    response = logged_in.post(page(mine.pk), form)
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.url, mine.event_types, mine.description, mine.ordered) == (
        "https://93.184.216.40/v2", ["plugin.*"], "CRM v2", False)
    refused = logged_in.post(page(mine.pk), {**form, "url": "http://10.1.2.3/"})
    assert "outside WEBHOOK_ALLOWED_NETWORKS" in " ".join(refused.context["adminform"].form.errors["url"])
    mine.refresh_from_db()
    assert mine.url == "https://93.184.216.40/v2"


def test_the_test_button_emits_a_test_event_for_the_endpoint(logged_in, mine):
    response = logged_in.post(action(mine.pk), {"action": "test"}, follow=True)
    event = Event.objects.get(type="webhook.test")
    assert (event.subject_type, event.subject_id) == ("webhook_endpoint", mine.pk)
    assert (event.actor_type, event.actor_id) == ("member", "ada")
    assert f"Sent a test event ({event.public_id})" in response.content.decode()


def test_the_rotate_button_shows_the_new_secret_once_and_keeps_the_old_one_for_24_hours(logged_in, mine):
    old = mine.secret
    response = logged_in.post(action(mine.pk), {"action": "rotate"})
    html = response.content.decode()
    secret = shown_secret(html)
    assert response.status_code == 200 and secret.startswith("whsec_") and secret != old
    assert "keeps signing deliveries" in html
    mine.refresh_from_db()
    assert (mine.secret, mine.previous_secret) == (secret, old)
    assert endpoints.previous_secret_valid_until(mine) is not None
    after = logged_in.get(page(mine.pk)).content.decode()
    assert secret not in after and "previous secret still signs deliveries until" in after


def test_disable_and_enable_buttons(logged_in, mine):
    response = logged_in.post(action(mine.pk), {"action": "disable"}, follow=True)
    assert f"Disabled {mine}" in response.content.decode()
    mine.refresh_from_db()
    assert not mine.enabled and mine.disabled_reason == "manual"
    html = logged_in.get(page(mine.pk)).content.decode()
    assert 'id="endpoint-enable-button"' in html and 'id="endpoint-test-button"' not in html
    assert Event.objects.filter(type="webhook.endpoint.disabled", subject_id=mine.pk).count() == 1
    # A test event to a disabled endpoint is refused with the service's words.
    refused = logged_in.post(action(mine.pk), {"action": "test"}, follow=True).content.decode()
    assert "is disabled (reason: manual)" in refused
    WebhookEndpoint.objects.filter(pk=mine.pk).update(failing_since=timezone.now())
    logged_in.post(action(mine.pk), {"action": "enable"})
    mine.refresh_from_db()
    assert mine.enabled and (mine.disabled_reason, mine.disabled_at, mine.failing_since) == ("", None, None)


def test_an_unknown_action_or_a_get_changes_nothing(logged_in, mine):
    assert logged_in.get(action(mine.pk)).status_code == 302
    response = logged_in.post(action(mine.pk), {"action": "explode"}, follow=True)
    assert "Pick one of the buttons of the endpoint page" in response.content.decode()
    mine.refresh_from_db()
    assert mine.enabled and mine.previous_secret is None


def test_changelist_actions_enable_and_disable_the_selected(logged_in, org, mine):
    other = make(org, url="https://93.184.216.41/x")
    logged_in.post(reverse(CHANGELIST), {"action": "disable_selected", "_selected_action": [mine.pk, other.pk]})
    assert WebhookEndpoint.objects.filter(enabled=False, disabled_reason="manual").count() == 2
    logged_in.post(reverse(CHANGELIST), {"action": "enable_selected", "_selected_action": [mine.pk]})
    assert WebhookEndpoint.objects.get(pk=mine.pk).enabled


def test_deleting_is_soft_and_cancels_open_messages(logged_in, org, mine):
    event = emit(None, "config_object.created", organization=org)
    message = WebhookMessage.objects.create(organization=org, endpoint=mine, event=event, position=event.position,
                                            event_type=event.type)
    delete_url = reverse("admin:webhooks_webhookendpoint_delete", args=[quote(mine.pk)])
    confirmation = logged_in.get(delete_url).content.decode()
    assert URL in confirmation and "webhook message" not in confirmation  # soft: nothing cascades
    assert logged_in.post(delete_url, {"post": "yes"}).status_code == 302
    mine.refresh_from_db()
    message.refresh_from_db()
    assert mine.deleted_at is not None and message.status == "cancelled"


# Who may


def test_another_organizations_admin_cannot_act_on_the_endpoint(client, mine, other_org):
    outsider, _ = ensure_user("otto", is_staff=True)
    add_member(other_org, outsider, Membership.Role.ADMIN)
    client.force_login(outsider)
    assert client.get(page(mine.pk)).status_code in (302, 404)
    assert client.post(action(mine.pk), {"action": "rotate"}).status_code == 404
    mine.refresh_from_db()
    assert mine.previous_secret is None


def test_a_plain_member_with_the_staff_flag_sees_no_endpoints(client, org, mine):
    staff_member, _ = ensure_user("sam", is_staff=True)
    add_member(org, staff_member, Membership.Role.MEMBER)
    client.force_login(staff_member)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.post(action(mine.pk), {"action": "disable"}).status_code == 403
    mine.refresh_from_db()
    assert mine.enabled


def test_a_superuser_sees_every_organizations_endpoints(client, superuser, mine, theirs):
    client.force_login(superuser)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "CRM sync" in html and "Globex private hook" in html
    response = client.post(action(theirs.pk), {"action": "test"}, follow=True)
    assert Event.objects.get(type="webhook.test").organization == theirs.organization
    assert "Sent a test event" in response.content.decode()


def test_a_plugins_endpoint_is_named_by_its_owner(logged_in, org, crm_plugin):
    from plexica.tenancy.services import issue_api_key

    key = issue_api_key(org, name="crm", plugin=crm_plugin)[0]
    principal = Principal(organization=org, api_key=key)
    endpoint, _ = endpoints.create_endpoint(principal, url=URL, events=["*"])
    html = logged_in.get(reverse(CHANGELIST)).content.decode()
    assert "Plugin CRM (<code>plugin-crm</code>)" in html
    assert "Plugin CRM" in logged_in.get(page(endpoint.pk)).content.decode()


def test_delete_selected_soft_deletes_through_the_service(logged_in, org, mine):
    other = make(org, url="https://93.184.216.42/x")
    selected = {"action": "delete_selected", "_selected_action": [mine.pk, other.pk]}
    confirmation = logged_in.post(reverse(CHANGELIST), selected).content.decode()
    assert URL in confirmation and "https://93.184.216.42/x" in confirmation
    logged_in.post(reverse(CHANGELIST), {**selected, "post": "yes"})
    assert WebhookEndpoint.objects.filter(deleted_at__isnull=False).count() == 2
    assert WebhookEndpoint.objects.count() == 2  # soft: the rows and their history stay


def test_org_admins_find_the_endpoints_in_the_sidebar(logged_in):
    assert reverse(CHANGELIST) in logged_in.get(reverse("admin:index")).content.decode()
