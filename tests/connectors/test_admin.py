from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from connectors.admin import SYNC_HISTORY_ROWS
from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.services import targets
from plexica.plugins.models import Plugin
from tests.connectors import factories
from tests.connectors.factories import principal


@pytest.fixture
def mine(org):
    return factories.target(org, mappings=[("sales/skills/**", "skill")])


@pytest.fixture
def theirs(other_org):
    return factories.target(other_org, factories.instance(other_org, installation_id=2002),
                            mappings=[("globex/**", "agent")])


@pytest.fixture
def logged_in(client, org_admin):
    client.force_login(org_admin.user)
    return client


def _inline_management(prefix, total, initial):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def _inline(page, model):
    return next(f for f in page.context["inline_admin_formsets"] if f.formset.model is model)


MODELS = {
    "connectoraccount": lambda t: t.instance.account,
    "connectorinstance": lambda t: t.instance,
    "connectortarget": lambda t: t,
    "connectormapping": lambda t: t.mappings.get(),
    "syncevent": lambda t: t.sync_events.get(),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_connector_changelist_and_change_page_renders_scoped_to_the_org(logged_in, mine, theirs, name):
    factories.event(mine)
    factories.event(theirs)
    changelist = logged_in.get(reverse(f"admin:connectors_{name}_changelist"))
    assert changelist.status_code == 200
    assert [row.pk for row in changelist.context["cl"].result_list] == [MODELS[name](mine).pk]
    # Public ids hold "_", which admin URLs escape (quote): unescaped, "cac_24..." would read as "cac$...".
    change = f"admin:connectors_{name}_change"
    assert logged_in.get(reverse(change, args=[quote(MODELS[name](mine).pk)])).status_code == 200
    assert logged_in.get(reverse(change, args=[quote(MODELS[name](theirs).pk)])).status_code in (302, 404)


def test_a_superuser_sees_every_organizations_connectors(client, django_user_model, mine, theirs):
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    changelist = client.get(reverse("admin:connectors_connectortarget_changelist"))
    assert {t.pk for t in changelist.context["cl"].result_list} == {mine.pk, theirs.pk}


def test_a_targets_page_shows_its_mappings_and_its_sync_history_newest_first_read_only(logged_in, mine):
    now = timezone.now()
    events = [factories.event(mine, head_sha=f"{n:040d}", created_at=now - timedelta(minutes=n))
              for n in range(SYNC_HISTORY_ROWS + 2)]
    page = logged_in.get(reverse("admin:connectors_connectortarget_change", args=[quote(mine.pk)]))
    assert page.status_code == 200
    history = str(page.context["sync_history_html"])
    shown = [e.pk for e in events if reverse("admin:connectors_syncevent_change", args=[quote(e.pk)]) in history]
    assert shown == [e.pk for e in events[:SYNC_HISTORY_ROWS]]  # capped at the newest
    positions = [history.index(reverse("admin:connectors_syncevent_change", args=[quote(pk)])) for pk in shown]
    assert positions == sorted(positions)  # newest first
    assert f"The newest {SYNC_HISTORY_ROWS} of {SYNC_HISTORY_ROWS + 2} syncs" in history
    assert 'class="badge badge-red">Failed' in history
    assert not any(f.formset.model is SyncEvent for f in page.context["inline_admin_formsets"])  # a table, not a form
    assert [m.selector for m in _inline(page, ConnectorMapping).formset.queryset] == ["sales/skills/**"]


def test_mappings_are_added_inline_in_the_targets_organization_with_the_apis_rules(logged_in, org, mine,
                                                                                   other_org, crm_plugin):
    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="G",
                                    version="1.0.0")
    url = reverse("admin:connectors_connectortarget_change", args=[quote(mine.pk)])
    page = logged_in.get(url)
    empty = _inline(page, ConnectorMapping).formset.empty_form
    assert crm_plugin in empty.fields["plugin"].queryset and foreign not in empty.fields["plugin"].queryset

    existing = mine.mappings.get()
    base = {"organization": org.pk, "instance": mine.instance_id, "repository_id": 42,
            "repository_full_name": "acme/sales", "branch": "main", "status": "active", "disabled_reason": "",
            **_inline_management("mappings", 2, 1), **_inline_management("sync_events", 0, 0),
            "mappings-0-id": existing.pk, "mappings-0-target": mine.pk, "mappings-0-position": 0,
            "mappings-0-selector": existing.selector, "mappings-0-object_type": "skill"}
    bad = logged_in.post(url, {**base, "mappings-1-position": 1, "mappings-1-selector": "../up/**",
                               "mappings-1-object_type": "agent"})
    assert bad.status_code == 200 and "segments" in bad.content.decode()
    no_plugin = logged_in.post(url, {**base, "mappings-1-position": 1, "mappings-1-selector": "agents/**",
                                     "mappings-1-object_type": "agent",
                                     "mappings-1-auto_add_to_plugin": "on"})
    assert no_plugin.status_code == 200 and "Needs a plugin" in no_plugin.content.decode()
    assert mine.mappings.count() == 1

    good = logged_in.post(url, {**base, "mappings-1-position": 1, "mappings-1-selector": "agents/**",
                                "mappings-1-object_type": "agent", "mappings-1-plugin": crm_plugin.pk,
                                "mappings-1-auto_add_to_plugin": "on"})
    assert good.status_code == 302
    added = mine.mappings.get(selector="agents/**")
    assert (added.organization, added.plugin, added.auto_add_to_plugin) == (org, crm_plugin, True)


def test_an_instance_is_added_with_a_target_inline_and_its_name_is_unique(logged_in, org, org_admin,
                                                                           other_org):
    account = factories.account(org)
    foreign = factories.account(other_org, installation_id=7)
    url = reverse("admin:connectors_connectorinstance_add")
    form = logged_in.get(url).context["adminform"].form
    assert account in form.fields["account"].queryset and foreign not in form.fields["account"].queryset

    body = {"organization": org.pk, "account": account.pk, "name": "Sales repo", "description": "",
            **_inline_management("targets", 1, 0), "targets-0-repository_id": 42,
            "targets-0-repository_full_name": "acme/sales", "targets-0-branch": "main",
            "targets-0-status": "active"}
    assert logged_in.post(url, {**body, "targets-0-branch": "bad..name"}).status_code == 200
    assert not ConnectorInstance.objects.exists()
    response = logged_in.post(url, body)
    assert response.status_code == 302
    instance = ConnectorInstance.objects.get()
    assert (instance.organization, instance.created_by, instance.account) == (org, org_admin.user, account)
    target = ConnectorTarget.objects.get()
    assert (target.organization, target.instance, target.ref) == (org, instance, "refs/heads/main")

    again = logged_in.post(url, {**body, **_inline_management("targets", 0, 0)})
    assert again.status_code == 200 and ConnectorInstance.objects.count() == 1


def test_an_account_needs_a_positive_installation_id(logged_in, org, org_admin):
    url = reverse("admin:connectors_connectoraccount_add")
    body = {"organization": org.pk, "installation_id": 0, "account_login": "acme",
            "account_type": "Organization", "display_name": ""}
    assert logged_in.post(url, body).status_code == 200
    assert not ConnectorAccount.objects.exists()
    assert logged_in.post(url, {**body, "installation_id": 55}).status_code == 302
    assert ConnectorAccount.objects.get().created_by == org_admin.user


def test_an_installation_held_by_any_organization_cannot_be_added_again(logged_in, org, other_org):
    theirs = factories.account(other_org, installation_id=56)
    mine = factories.account(org, installation_id=57)
    url = reverse("admin:connectors_connectoraccount_add")
    body = {"organization": org.pk, "account_login": "acme", "account_type": "Organization",
            "display_name": ""}
    for installation_id, where in ((56, "another"), (57, "this")):
        response = logged_in.post(url, {**body, "installation_id": installation_id})
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["installation_id"] == [
            f"This installation is connected to {where} organization."]
    assert set(ConnectorAccount.objects.values_list("pk", flat=True)) == {theirs.pk, mine.pk}
    change = reverse("admin:connectors_connectoraccount_change", args=[quote(mine.pk)])
    assert logged_in.post(change, {**body, "installation_id": 57, "display_name": "Acme"}).status_code == 302


def test_the_resync_action_queues_a_manual_event_per_target_and_reports_the_refusals(
    logged_in, org, mine, django_capture_on_commit_callbacks
):
    disabled = factories.target(org, mine.instance, repository_id=7, full_name="acme/old")
    targets.update_target(principal(org), disabled.pk, status="disabled")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = logged_in.post(reverse("admin:connectors_connectortarget_changelist"),
                                  {"action": "resync_selected", "_selected_action": [mine.pk, disabled.pk]},
                                  follow=True)
    text = response.content.decode()
    assert "Queued a resync of 1 target." in text and "enable it first" in text
    event = SyncEvent.objects.get()
    assert (event.target, event.event_type, event.trigger, event.created_by) == (
        mine, "manual_resync", "manual", response.wsgi_request.user)
    assert len(callbacks) == 1


def test_the_retry_action_requeues_failed_events_and_reports_the_others(
    logged_in, mine, django_capture_on_commit_callbacks
):
    failed = factories.event(mine, head_sha="1" * 40)
    completed = factories.event(mine, status=SyncEvent.Status.COMPLETED, head_sha="2" * 40)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = logged_in.post(reverse("admin:connectors_syncevent_changelist"),
                                  {"action": "retry_selected", "_selected_action": [failed.pk, completed.pk]},
                                  follow=True)
    text = response.content.decode()
    assert "Requeued 1 sync event." in text and "is completed" in text
    failed.refresh_from_db()
    completed.refresh_from_db()
    assert (failed.status, failed.trigger, failed.attempts) == ("queued", "retry", 0)
    assert completed.status == "completed"
    assert len(callbacks) == 1


def test_sync_events_are_read_only_in_the_admin(logged_in, mine):
    event = factories.event(mine)
    page = logged_in.get(reverse("admin:connectors_syncevent_change", args=[quote(event.pk)]))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert logged_in.get(reverse("admin:connectors_syncevent_add")).status_code == 403
    delete = reverse("admin:connectors_syncevent_delete", args=[quote(event.pk)])
    assert logged_in.get(delete).status_code == 403


def test_instance_actions_disable_enable_and_archive(logged_in, mine):
    url = reverse("admin:connectors_connectorinstance_changelist")
    instance = mine.instance
    for action, status in (("disable_selected", "disabled"), ("enable_selected", "active"),
                           ("archive_selected", "archived")):
        logged_in.post(url, {"action": action, "_selected_action": [instance.pk]})
        instance.refresh_from_db()
        assert instance.status == status
    response = logged_in.post(url, {"action": "archive_selected", "_selected_action": [instance.pk]},
                              follow=True)
    assert "cannot become archived" in response.content.decode()


def test_the_disconnect_action_disconnects_accounts(logged_in, mine):
    account = mine.instance.account
    response = logged_in.post(reverse("admin:connectors_connectoraccount_changelist"),
                              {"action": "disconnect_selected", "_selected_action": [account.pk]},
                              follow=True)
    assert "Disconnected 1 account." in response.content.decode()
    account.refresh_from_db()
    assert account.status == "disconnected" and account.disconnected_at is not None


def test_another_organizations_rows_cannot_be_acted_on(logged_in, theirs):
    event = factories.event(theirs)
    logged_in.post(reverse("admin:connectors_syncevent_changelist"),
                   {"action": "retry_selected", "_selected_action": [event.pk]})
    logged_in.post(reverse("admin:connectors_connectortarget_changelist"),
                   {"action": "resync_selected", "_selected_action": [theirs.pk]})
    event.refresh_from_db()
    assert event.status == "failed" and SyncEvent.objects.count() == 1


def test_a_superuser_cannot_mix_organizations_in_one_instance_or_mapping(client, django_user_model, org,
                                                                         other_org, mine):
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    foreign_account = factories.account(other_org, installation_id=8)
    response = client.post(reverse("admin:connectors_connectorinstance_add"),
                           {"organization": org.pk, "account": foreign_account.pk, "name": "Mixed",
                            "description": "", **_inline_management("targets", 0, 0)})
    assert response.status_code == 200 and "account" in response.context["adminform"].form.errors
    foreign_plugin = Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="G",
                                           version="1.0.0")
    response = client.post(reverse("admin:connectors_connectormapping_add"),
                           {"organization": org.pk, "target": mine.pk, "position": 3, "selector": "x/**",
                            "object_type": "skill", "plugin": foreign_plugin.pk})
    assert response.status_code == 200 and "plugin" in response.context["adminform"].form.errors
    assert not ConnectorInstance.objects.filter(name="Mixed").exists() and mine.mappings.count() == 1


def test_a_row_whose_id_looks_like_an_admin_escape_opens_from_the_changelist(logged_in, org):
    account = ConnectorAccount.objects.create(id="cac_24abcdefabcdefabcdefab", organization=org, installation_id=6)
    changelist = logged_in.get(reverse("admin:connectors_connectoraccount_changelist")).content.decode()
    link = reverse("admin:connectors_connectoraccount_change", args=[quote(account.pk)])
    assert f'href="{link}"' in changelist
    assert logged_in.get(link).context["original"] == account
