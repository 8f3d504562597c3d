"""The admin of webhook messages: the list with its badges and filters, a message's page with its attempts
and Redeliver button, the redeliver action, the recover form; scoped to the admin's organizations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from plexica.events.log import emit
from plexica.tenancy.admin import admin_url
from plexica.tenancy.principal import Principal
from tests.adminsite.querycount import assert_flat
from tests.webhooks.receiver import eager_tasks_fixture, receiver_fixture  # noqa: F401  (fixtures)
from webhooks.outbound import delivery, fanout
from webhooks.outbound.endpoints import create_endpoint
from webhooks.outbound.models import WebhookMessage

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.fixture
def endpoint(org, receiver):
    return create_endpoint(Principal.system(org), url=receiver.url, events=["*"])[0]


@pytest.fixture
def failed(org, endpoint, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    emit(None, "contact.created", data={}, organization=org)
    fanout.fan_out(org.pk)
    message = WebhookMessage.objects.get()
    receiver.answer(503, body=b"down for maintenance")
    delivery.deliver(message.pk)
    message.refresh_from_db()
    return message


def test_the_list_shows_status_attempts_and_last_code(client_of, org_admin, failed):
    page = client_of(org_admin).get(admin_url("webhooks_webhookmessage_changelist")).content.decode()
    assert "contact.created" in page and "badge-red" in page and "503" in page


def test_a_message_page_lists_its_attempts_and_has_a_redeliver_button(client_of, org_admin, failed):
    page = client_of(org_admin).get(admin_url("webhooks_webhookmessage_change", failed.pk)).content.decode()
    assert "down for maintenance" in page and "message-redeliver-button" in page
    assert "attempts (newest first)" in page.lower()


def test_the_button_redelivers_with_the_same_webhook_id(client_of, org_admin, failed, receiver,
                                                        django_capture_on_commit_callbacks):
    client = client_of(org_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(admin_url("webhooks_webhookmessage_redeliver", failed.pk))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "succeeded"
    assert [d.webhook_id for d in receiver.deliveries] == [failed.pk, failed.pk]


def test_the_redeliver_action_sends_the_selected_messages(client_of, org_admin, failed,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_of(org_admin).post(admin_url("webhooks_webhookmessage_changelist"),
                                  {"action": "redeliver_selected", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == "succeeded" and failed.attempts == 2


def test_the_recover_form_sends_the_endpoints_failed_messages_again(client_of, org_admin, endpoint, failed,
                                                                    django_capture_on_commit_callbacks):
    client = client_of(org_admin)
    url = admin_url("webhooks_webhookmessage_recover", query={"endpoint": endpoint.pk})
    assert "recover-form" in client.get(url).content.decode()
    since = timezone.localtime() - timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"endpoint": endpoint.pk, "since_0": since.strftime("%Y-%m-%d"),
                                     "since_1": since.strftime("%H:%M:%S")})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "succeeded"


def test_another_organizations_admin_sees_none_of_them(client_of, other_org, failed):
    from plexica.tenancy.models import Membership
    from plexica.tenancy.services import add_member, ensure_user

    user, _ = ensure_user("gus", password="correct-horse-battery", is_staff=True)
    add_member(other_org, user, Membership.Role.ADMIN)
    client = client_of(user)
    assert failed.pk not in client.get(admin_url("webhooks_webhookmessage_changelist")).content.decode()
    assert client.get(admin_url("webhooks_webhookmessage_change", failed.pk)).status_code in (302, 404)
    client.post(admin_url("webhooks_webhookmessage_redeliver", failed.pk))
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_the_list_costs_the_same_queries_with_many_rows(client_of, org_admin, org, failed):
    def grow():
        for n in range(60):
            emit(None, "contact.updated", data={"n": n}, organization=org)
        fanout.fan_out(org.pk)
        for message in WebhookMessage.objects.filter(status="pending")[:20]:
            delivery.deliver(message.pk)

    client = client_of(org_admin)
    assert_flat(client, admin_url("webhooks_webhookmessage_changelist"), grow)


def test_a_message_page_costs_the_same_queries_with_many_attempts(client_of, org_admin, failed, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0] * 30

    def grow():
        for _ in range(15):
            WebhookMessage.objects.filter(pk=failed.pk).update(status="pending", next_attempt_at=timezone.now())
            delivery.deliver(failed.pk)

    assert_flat(client_of(org_admin), admin_url("webhooks_webhookmessage_change", failed.pk), grow)
