"""Webhook URLs pass the webhook network policy when an endpoint is created and whenever its URL changes:
public addresses by default; private and loopback ones only inside WEBHOOK_ALLOWED_NETWORKS; link-local and
metadata addresses never, whatever the setting opens."""

import pytest
from django.test import override_settings

from plexica.errors import Invalid
from plexica.tenancy.principal import Principal
from webhooks.outbound import endpoints
from webhooks.outbound.models import WebhookEndpoint

PUBLIC = "https://93.184.216.34/hooks"
EVERYWHERE = ["0.0.0.0/0", "::/0"]


def create(api, token, url):
    return api(token).post("/api/v1/webhooks", {"url": url, "events": ["*"]}, format="json")


def refused(response, says):
    assert response.status_code == 400, response.json()
    message = response.json()["error"]["message"]
    assert message.startswith("url:") and says in message, message
    details = response.json()["error"]["details"]
    assert details == {"field": "url"} or set(details) == {"url"}


def test_a_public_address_is_allowed_by_default(api, org_key):
    assert create(api, org_key.token, PUBLIC).status_code == 201


@pytest.mark.parametrize("url", ["http://127.0.0.1:18300/hook", "http://[::1]:18300/hook", "http://10.0.0.5/hook",
                                 "http://192.168.1.20/hook", "http://172.16.0.1/hook", "http://100.64.0.1/hook"])
def test_loopback_and_private_addresses_are_refused_without_the_setting(api, org_key, url):
    refused(create(api, org_key.token, url), "is not public and is outside WEBHOOK_ALLOWED_NETWORKS")
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_to_loopback_is_refused(api, org_key):
    refused(create(api, org_key.token, "http://localhost:18300/hook"), "is not public")


@override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"])
def test_the_setting_opens_loopback(api, org_key):
    response = create(api, org_key.token, "http://127.0.0.1:18300/hook")
    assert response.status_code == 201
    # Only the networks it names: another private range stays closed.
    refused(create(api, org_key.token, "http://10.0.0.5/hook"), "outside WEBHOOK_ALLOWED_NETWORKS")


@override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8", "::1/128"])
def test_a_name_resolving_to_allowed_loopback_addresses_is_accepted(api, org_key):
    assert create(api, org_key.token, "http://localhost:18300/hook").status_code == 201


@override_settings(WEBHOOK_ALLOWED_NETWORKS=EVERYWHERE)
@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://169.254.1.1/", "http://[fe80::1]/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
    "http://224.0.0.1/", "http://0.0.0.0/",
])
def test_link_local_metadata_and_multicast_addresses_stay_refused_with_everything_opened(api, org_key, url):
    refused(create(api, org_key.token, url), "never allowed")


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://93.184.216.34/hooks", "absolute http:// or https://"),
    ("/relative/hook", "absolute http:// or https://"),
    ("93.184.216.34/hook", "absolute http:// or https://"),
    ("http:///no-host", "absolute http:// or https://"),
    ("javascript:alert(1)", "absolute http:// or https://"),
    ("https://user:pw@93.184.216.34/", "credentials"),
    ("https://93.184.216.34:99999/", "valid host and port"),
    ("http://[::1/", "valid host and port"),
    ("https://93.184.216.34/a b", "no spaces"),
    ("https://93.184.216.34/\nx", "control characters"),
    ("https://" + "a" * 64 + ".example/", "not a valid host name"),
    ("https://no-such-host.invalid/hook", "does not resolve"),
    ("https://93.184.216.34/" + "p" * 2000, "2000 characters"),
    ("", "blank"),
])
def test_malformed_urls_are_400_saying_what_is_wrong(api, org_key, url, says):
    refused(create(api, org_key.token, url), says)


def test_a_decimal_spelling_of_loopback_is_judged_by_its_address(api, org_key):
    refused(create(api, org_key.token, "http://2130706433/hook"), "address 127.0.0.1 is not public")


def test_changing_the_url_checks_it_again_and_a_refused_one_changes_nothing(api, org_key):
    client = api(org_key.token)
    item = create(api, org_key.token, PUBLIC).json()["item"]
    for url in ("http://127.0.0.1:18300/hook", "http://169.254.169.254/", "http://localhost/"):
        response = client.patch(f"/api/v1/webhooks/{item['id']}", {"url": url}, format="json")
        refused(response, "not" if "169" not in url else "never allowed")
    assert WebhookEndpoint.objects.get(pk=item["id"]).url == PUBLIC
    moved = client.patch(f"/api/v1/webhooks/{item['id']}", {"url": "https://93.184.216.35/v2"}, format="json")
    assert moved.status_code == 200 and moved.json()["item"]["url"] == "https://93.184.216.35/v2"


def test_an_endpoint_opened_by_the_setting_keeps_working_for_other_changes(api, org_key):
    with override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        item = create(api, org_key.token, "http://127.0.0.1:18300/hook").json()["item"]
    # The setting closed again: a change that leaves the URL alone is not refused for it...
    client = api(org_key.token)
    response = client.patch(f"/api/v1/webhooks/{item['id']}", {"description": "local receiver",
                                                                 "url": "http://127.0.0.1:18300/hook"}, format="json")
    assert response.status_code == 200
    # ...but moving it to another local address is.
    refused(client.patch(f"/api/v1/webhooks/{item['id']}", {"url": "http://127.0.0.2:18300/hook"}, format="json"),
            "not public")


def test_the_service_refuses_the_url_for_every_caller_before_storing_anything(org):
    with pytest.raises(Invalid) as refusal:
        endpoints.create_endpoint(Principal.system(org), url="http://169.254.169.254/", events=["*"])
    assert refusal.value.extra == {"field": "url"} and "never allowed" in refusal.value.message
    assert not WebhookEndpoint.objects.exists()
