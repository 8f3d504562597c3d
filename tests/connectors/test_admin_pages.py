"""The connector target page: mappings, sync history newest first with badges, the last error and the retry
button (the services' checks), never another organization's rows, and flat query counts with 1,000 rows."""

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from connectors.admin import SYNC_HISTORY_ROWS
from connectors.models import ConnectorMapping, ConnectorTarget, SyncEvent
from connectors.services import instances
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership
from plexica.tenancy.services import add_member, ensure_user
from tests.adminsite.bulk import bulk_rows
from tests.adminsite.querycount import assert_flat
from tests.connectors import factories
from tests.connectors.factories import principal


@pytest.fixture
def mine(org):
    return factories.target(org, mappings=[("sales/skills/**", "skill")])


@pytest.fixture
def theirs(other_org):
    return factories.target(other_org, factories.instance(other_org, name="Globex repo", installation_id=2002),
                            full_name="globex/secret", mappings=[("globex/**", "agent")])


@pytest.fixture
def logged_in(client, org_admin):
    client.force_login(org_admin.user)
    return client


def _page(pk):
    return reverse("admin:connectors_connectortarget_change", args=[quote(pk)])


def _retry(pk):
    return reverse("admin:connectors_connectortarget_retry", args=[quote(pk)])


def test_the_target_page_shows_its_last_error_history_and_retry_button_and_nothing_of_another_org(
        logged_in, mine, theirs):
    now = timezone.now()
    factories.event(mine, status=SyncEvent.Status.COMPLETED, head_sha="1" * 40, error="",
                    created_at=now - timedelta(hours=2))
    failed = factories.event(mine, head_sha="2" * 40, error="GitHub answered 502 three times",
                             created_at=now - timedelta(hours=1))
    factories.event(theirs, head_sha="3" * 40, error="Globex private failure")
    html = logged_in.get(_page(mine.pk)).content.decode()
    assert 'id="panel-last-sync"' in html and 'id="panel-sync-history"' in html
    assert "GitHub answered 502 three times" in html and 'id="last-error"' in html
    assert f'name="event" value="{failed.pk}"' in html and 'id="target-retry-button"' in html
    assert 'form="target-retry-form"' in html and 'id="target-retry-form"' in html
    assert 'class="badge badge-red">Failed' in html and 'class="badge badge-green">Completed' in html
    assert html.index("2" * 10) < html.index("1" * 10)  # newest first
    assert "sales/skills/**" in html
    assert "Globex" not in html and "globex" not in html
    assert logged_in.get(_page(theirs.pk)).status_code in (302, 404)


def test_the_retry_button_requeues_the_failed_sync_through_the_service(logged_in, mine,
                                                                      django_capture_on_commit_callbacks):
    failed = factories.event(mine)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = logged_in.post(_retry(mine.pk), {"event": failed.pk}, follow=True)
    assert f"Requeued the sync {failed.pk} of acme/sales@main" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.trigger, failed.attempts) == ("queued", "retry", 0)
    assert len(callbacks) == 1
    page = logged_in.get(_page(mine.pk)).content.decode()
    assert 'id="target-retry-button"' not in page  # the newest sync is queued: nothing to retry


def test_retrying_a_completed_sync_or_a_disabled_instance_is_refused_with_the_services_message(logged_in, org,
                                                                                                mine):
    done = factories.event(mine, status=SyncEvent.Status.COMPLETED, error="")
    text = logged_in.post(_retry(mine.pk), {"event": done.pk}, follow=True).content.decode()
    assert "only failed or partial events can be retried" in text
    failed = factories.event(mine, head_sha="b" * 40)
    instances.disable_instance(principal(org), mine.instance_id)
    text = logged_in.post(_retry(mine.pk), {"event": failed.pk}, follow=True).content.decode()
    assert "enable it first" in text
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_another_organizations_staff_cannot_retry(client, mine, other_org):
    failed = factories.event(mine)
    user, _ = ensure_user("gus", password="correct-horse-battery", is_staff=True)
    add_member(other_org, user, Membership.Role.ADMIN)
    client.force_login(user)
    assert client.post(_retry(mine.pk), {"event": failed.pk}).status_code in (403, 404)
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_plain_member_with_staff_flag_cannot_retry(client, org, mine):
    failed = factories.event(mine)
    user, _ = ensure_user("sam", password="correct-horse-battery", is_staff=True)
    add_member(org, user, Membership.Role.MEMBER)
    client.force_login(user)
    assert client.post(_retry(mine.pk), {"event": failed.pk}).status_code in (302, 403)
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_an_event_of_another_target_is_not_retried_through_this_one(logged_in, org, mine):
    other = factories.target(org, mine.instance, repository_id=43, full_name="acme/other")
    failed = factories.event(other)
    assert logged_in.post(_retry(mine.pk), {"event": failed.pk}).status_code == 404
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_the_resync_button_queues_a_manual_resync(logged_in, mine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        text = logged_in.post(_retry(mine.pk), {"resync": "1"}, follow=True).content.decode()
    event = SyncEvent.objects.get(target=mine)
    assert (event.event_type, event.trigger, event.status) == ("manual_resync", "manual", "queued")
    assert f"Queued a resync of acme/sales@main ({event.pk})." in text
    assert len(callbacks) == 1


def test_sync_events_show_no_save_button_and_no_delete_selected(logged_in, mine):
    event = factories.event(mine)
    page = logged_in.get(reverse("admin:connectors_syncevent_change", args=[quote(event.pk)])).content.decode()
    assert 'name="_save"' not in page and 'class="badge badge-red">Failed' in page
    changelist = logged_in.get(reverse("admin:connectors_syncevent_changelist"))
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)


def test_connector_relations_are_picked_with_autocompletes(logged_in, mine):
    for name, fields in [("connectortarget", ["instance", "organization"]),
                         ("connectormapping", ["target", "plugin", "organization"]),
                         ("connectorinstance", ["account", "organization"])]:
        form = logged_in.get(reverse(f"admin:connectors_{name}_add")).context["adminform"].form
        for field in fields:
            assert "admin-autocomplete" in form.fields[field].widget.render(field, None), (name, field)
    inline = logged_in.get(_page(mine.pk)).context["inline_admin_formsets"][0].formset
    assert "admin-autocomplete" in inline.empty_form.fields["plugin"].widget.render("plugin", None)


def test_the_mapping_picker_names_the_plugin(logged_in, org, mine, crm_plugin):
    ConnectorMapping.objects.filter(target=mine).update(plugin=crm_plugin)
    html = logged_in.get(_page(mine.pk)).content.decode()
    assert "CRM (plugin-crm)" in html


def test_the_target_changelist_shows_the_latest_sync_as_a_badge(logged_in, mine, theirs):
    factories.event(mine)
    html = logged_in.get(reverse("admin:connectors_connectortarget_changelist")).content.decode()
    assert 'class="badge badge-red">Failed' in html and 'class="badge badge-green">Active' in html
    assert "globex/secret" not in html


def test_the_target_page_costs_the_same_queries_with_1000_mappings_and_sync_events(logged_in, org, mine):
    factories.event(mine)

    def grow():
        plugins = Plugin.objects.bulk_create(
            Plugin(organization=org, plugin_id=f"plugin-m{i:04d}", name=f"M {i}", version="1.0.0")
            for i in range(1000))
        ConnectorMapping.objects.bulk_create(
            ConnectorMapping(organization=org, target=mine, selector=f"dir{i}/**", object_type="skill",
                             plugin=plugins[i], position=i + 1) for i in range(1000))
        now = timezone.now()
        SyncEvent.objects.bulk_create(
            SyncEvent(organization=org, target=mine, event_type="push", head_sha=f"{i:040x}",
                      status=("completed", "failed")[i % 2], error="" if i % 2 == 0 else "HTTP 502",
                      created_at=now - timedelta(minutes=i + 1), finished_at=now) for i in range(1000))

    _, response = assert_flat(logged_in, _page(mine.pk), grow)
    assert f"The newest {SYNC_HISTORY_ROWS} of 1001 syncs" in str(response.context["sync_history_html"])
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 25


@pytest.mark.parametrize("name", ["connectortarget", "connectorinstance", "connectoraccount", "connectormapping",
                                  "syncevent"])
def test_connector_changelists_cost_the_same_queries_with_1000_rows(logged_in, org, mine, name):
    factories.event(mine)
    assert_flat(logged_in, reverse(f"admin:connectors_{name}_changelist"), lambda: bulk_rows(org, 1000))


def test_targets_are_named_by_repository_and_branch(mine):
    assert str(ConnectorTarget.objects.get(pk=mine.pk)) == "acme/sales@main"
