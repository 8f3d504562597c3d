"""The admin's event log browser: the organization's events only, read-only, filtered and searched, with a
flat number of queries however many events there are."""

import itertools
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from plexica.events.log import emit
from plexica.events.models import Event, EventSequence
from plexica.tenancy.principal import Principal
from tests.adminsite.querycount import assert_flat

CHANGELIST = reverse("admin:events_event_changelist")
_batches = itertools.count()


def change_url(event):
    return reverse("admin:events_event_change", args=[quote(event.pk)])


def shown(response):
    return [event.public_id for event in response.context["cl"].result_list]


def headers(response):
    return [str(column["text"]).lower() for column in response.context["result_headers"]]


@pytest.fixture
def events(org, other_org, org_key, plugin_key, org_admin):
    # The fixtures' own events (api_key.created...) gone: the pages show exactly these.
    Event.objects.filter(organization__in=[org, other_org]).delete()
    made = {
        "installed": emit(None, "plugin.installed", organization=org, subject=("plugin", "plugin-crm"),
                          data={"version": "1.0.0"}),
        "contact": emit(Principal(organization=org, api_key=plugin_key.key), "plugin-crm.contact.created",
                        subject=("contact", "c-42"), data={"name": "Zoë", "tags": ["vip"]}),
        "deploy": emit(Principal(organization=org, api_key=org_key.key), "deploy.finished",
                       data={"ok": True}),
        "by_ada": emit(Principal(organization=org, membership=org_admin, user=org_admin.user), "note.added"),
        "foreign": emit(None, "plugin.installed", organization=other_org, subject=("plugin", "plugin-erp")),
    }
    Event.objects.filter(pk=made["deploy"].pk).update(request_id="req-deploy-1")
    return made


def test_an_org_admin_sees_their_organizations_events_newest_first(client_of, org_admin, events):
    response = client_of(org_admin).get(CHANGELIST)
    assert response.status_code == 200
    assert shown(response) == [events[name].public_id for name in ("by_ada", "deploy", "contact", "installed")]
    assert headers(response) == ["occurred at", "type", "subject", "actor", "request id"]
    html = response.content.decode()
    assert "plugin-crm.contact.created" in html and "contact c-42" in html
    assert "API key “automation”" in html and "Plugin plugin-crm" in html and "Member ada" in html
    assert "System" in html and "req-deploy-1" in html
    assert events["foreign"].public_id not in html


def test_a_superuser_sees_every_organization_and_their_names(client_of, superuser, events):
    response = client_of(superuser).get(CHANGELIST)
    assert events["foreign"].public_id in shown(response)
    assert "organization" in headers(response)


def test_filters_by_type_family_custom_events_actor_and_links_by_subject_and_request(client_of, org_admin,
                                                                                     events):
    client = client_of(org_admin)
    assert shown(client.get(CHANGELIST + "?type_prefix=plugin")) == [events["installed"].public_id]
    assert shown(client.get(CHANGELIST + "?type_prefix=custom")) == [
        events[name].public_id for name in ("by_ada", "deploy", "contact")]
    assert shown(client.get(CHANGELIST + "?actor_type=plugin")) == [events["contact"].public_id]
    # The subject's and the request's links list every event about it, of it.
    assert shown(client.get(CHANGELIST + "?subject_type=contact&subject_id=c-42")) == [events["contact"].public_id]
    assert shown(client.get(CHANGELIST + "?request_id=req-deploy-1")) == [events["deploy"].public_id]
    page = client.get(CHANGELIST).content.decode()
    assert "?subject_type=contact&amp;subject_id=c-42" in page and "?request_id=req-deploy-1" in page
    assert "plugin.*" in page and "Custom events" in page  # the type families offered


@pytest.mark.parametrize(("query", "expected"), [
    ("contact.created", ["contact"]), ("c-42", ["contact"]), ("req-deploy-1", ["deploy"]),
    ("plugin.installed", ["installed"]),
])
def test_search_by_type_subject_id_event_id_and_request_id(client_of, org_admin, events, query, expected):
    client = client_of(org_admin)
    assert shown(client.get(CHANGELIST, {"q": query})) == [events[name].public_id for name in expected]
    by_id = client.get(CHANGELIST, {"q": events["deploy"].public_id})
    assert shown(by_id) == [events["deploy"].public_id]


def test_the_date_hierarchy_narrows_to_a_day(client_of, org_admin, org, events):
    old = emit(None, "plugin.disabled", organization=org, occurred_at=timezone.now() - timedelta(days=40))
    day = old.occurred_at
    response = client_of(org_admin).get(CHANGELIST, {"occurred_at__year": day.year,
                                                      "occurred_at__month": day.month,
                                                      "occurred_at__day": day.day})
    assert response.status_code == 200
    assert shown(response) == [old.public_id]


def test_the_detail_page_shows_the_data_as_json_and_cannot_change_anything(client_of, org_admin, events):
    client = client_of(org_admin)
    response = client.get(change_url(events["contact"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "&quot;name&quot;: &quot;Zoë&quot;" in html and "&quot;tags&quot;: [" in html
    assert events["contact"].public_id in html
    assert "A custom event" in html
    assert 'name="_save"' not in html
    installed = client.get(change_url(events["installed"])).content.decode()
    assert "plugin.installed" in installed


def test_no_add_change_or_delete(client_of, org_admin, superuser, events):
    for who in (org_admin, superuser):
        client = client_of(who)
        assert client.get(reverse("admin:events_event_add")).status_code == 403
        event = events["deploy"]
        assert client.post(change_url(event), {"type": "forged.type"}).status_code == 403
        delete = reverse("admin:events_event_delete", args=[quote(event.pk)])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert Event.objects.get(pk=event.pk).type == "deploy.finished"
        assert client.get(CHANGELIST).context["action_form"] is None  # no bulk actions either


def test_another_organizations_event_is_not_there_for_an_org_admin(client_of, org_admin, events):
    response = client_of(org_admin).get(change_url(events["foreign"]))
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert "plugin-erp" not in client_of(org_admin).get(response["Location"]).content.decode()


def test_a_plain_member_has_no_event_log(client_of, member, events):
    member.user.is_staff = True
    member.user.save()
    response = client_of(member).get(CHANGELIST)
    assert response.status_code in (302, 403)


def grow(org, n=1000):
    """`n` more events of every actor kind and subject, written in bulk (positions after the current ones)."""
    batch = next(_batches)
    sequence, _ = EventSequence.objects.get_or_create(organization=org)
    start = sequence.last_position
    kinds = [("key", "key_missing"), ("member", "ada"), ("plugin", "plugin-crm"), ("system", "system")]
    Event.objects.bulk_create(
        Event(organization=org, position=start + i + 1, type=("plugin.installed", "crm.contact.created")[i % 2],
              actor_type=kinds[i % 4][0], actor_id=kinds[i % 4][1], subject_type="plugin",
              subject_id=f"plugin-{batch}-{i}", data={"i": i}, request_id=f"req-{batch}-{i}")
        for i in range(n))
    EventSequence.objects.filter(organization=org).update(last_position=start + n)


def test_the_pages_do_not_grow_their_queries_with_1000_events(client_of, org_admin, superuser, org, events):
    for who in (org_admin, superuser):
        client = client_of(who)
        for page in (CHANGELIST, CHANGELIST + "?type_prefix=custom&q=plugin", change_url(events["deploy"])):
            client.get(page)  # warm: content types
            assert_flat(client, page, lambda: grow(org))
