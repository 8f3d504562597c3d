"""What GitHub's webhook events do to connector rows: push routing, installation and repository changes."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, SourceBinding, SyncEvent
from connectors.queueing import queue_sync_event
from connectors.services import accounts, mappings, setup
from marketplaces.config_objects.models import ConfigObject
from plexica.celery import app as celery_app
from plexica.errors import Conflict
from plexica.events.log import _AfterCommit
from tests.connectors.factories import principal
from tests.webhooks import FORM, SECRET, connect, deliver, push_payload
from webhooks.inbound.models import WebhookDelivery

pytestmark = pytest.mark.django_db

INSTALLATION = 1001
REPO = 555
HEAD = "c0ffee" + "1" * 34


@pytest.fixture
def webhook_secret(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def send(webhook_secret, django_capture_on_commit_callbacks):
    """send(event, payload, **kw) -> (response, callbacks enqueued on commit, not executed)."""

    def run(event, payload, **kwargs):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = deliver(event, payload, **kwargs)
        return response, callbacks

    return run


def push(ref="refs/heads/main", after=HEAD, installation=INSTALLATION, repo=REPO, **kwargs):
    return push_payload(repo, "acme/skills", installation, ref=ref, after=after, **kwargs)


def installation_event(action, installation=INSTALLATION):
    return {"action": action, "installation": {"id": installation, "account": {"login": "acme"}},
            "sender": {"login": "octocat"}}


def repository_event(action, full_name, installation=INSTALLATION, repo=REPO):
    name = full_name.split("/")[1]
    return {"action": action, "repository": {"id": repo, "full_name": full_name, "name": name},
            "changes": {"repository": {"name": {"from": "skills"}}},
            "installation": {"id": installation}, "sender": {"login": "octocat"}}


# push

def test_a_push_to_a_mapped_branch_queues_one_sync_per_target_at_the_pushed_head(send, org, other_org):
    mine = connect(org, INSTALLATION, REPO, "acme/skills")
    again = connect(org, INSTALLATION, REPO, "acme/skills", instance_name="Support")  # a second instance
    connect(org, INSTALLATION, REPO, "acme/skills", branch="dev")  # another branch of the repository
    connect(other_org, 2002, REPO, "acme/skills")  # the same repository through another installation

    response, callbacks = send("push", push(), delivery_id="push-1")

    assert response.status_code == 202
    assert response.json() == {"ok": True, "accepted": True, "deliveryId": "push-1", "event": "push",
                               "queued": 2}
    events = SyncEvent.objects.all()
    assert {(e.target_id, e.organization_id) for e in events} == {(mine.pk, org.pk), (again.pk, org.pk)}
    for event in events:
        assert (event.event_type, event.trigger, event.head_sha, event.delivery_id, event.status) == (
            "push", "webhook", HEAD, "push-1", "queued")
    assert len(callbacks) == 2  # one worker task per event, sent only once the request commits
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.QUEUED
    assert sorted(delivery.result["syncEventIds"]) == sorted(e.pk for e in events)


def test_a_push_to_another_branch_is_accepted_and_queues_nothing(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    response, callbacks = send("push", push(ref="refs/heads/feature/x"))
    assert response.status_code == 202
    assert response.json()["queued"] == 0
    assert not SyncEvent.objects.exists()
    assert callbacks == []


def test_a_push_of_a_tag_with_the_branch_name_does_not_match_the_branch(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    response, _ = send("push", push(ref="refs/tags/main"))
    assert response.json()["queued"] == 0


def test_a_push_of_a_head_already_queued_by_another_delivery_queues_nothing_new(send, org):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    send("push", push(), delivery_id="first")
    response, callbacks = send("push", push(), delivery_id="second")  # GitHub sent the same push twice
    assert response.status_code == 202
    assert response.json()["queued"] == 0
    assert "duplicate" not in response.json()
    assert callbacks == []
    assert SyncEvent.objects.filter(target=target).count() == 1
    assert "already queued" in WebhookDelivery.objects.get(delivery_id="second").result["reason"]


def test_a_redelivery_of_a_push_is_a_duplicate_and_queues_no_second_sync(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    first, first_callbacks = send("push", push(), delivery_id="again")
    SyncEvent.objects.update(status=SyncEvent.Status.COMPLETED)  # the sync ran in the meantime
    second, second_callbacks = send("push", push(), delivery_id="again")
    assert (first.json()["queued"], len(first_callbacks)) == (1, 1)
    assert second.json() == {"ok": True, "accepted": True, "deliveryId": "again", "event": "push",
                             "queued": 0, "duplicate": True}
    assert second_callbacks == []
    assert SyncEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_push_that_deletes_the_branch_queues_no_sync_and_says_so(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    response, callbacks = send("push", push(deleted=True), delivery_id="gone")
    assert response.status_code == 202
    assert response.json()["queued"] == 0
    assert callbacks == [] and not SyncEvent.objects.exists()
    reason = WebhookDelivery.objects.get().result["reason"]
    assert reason == "branch refs/heads/main was deleted; no sync queued"


def test_a_push_never_reaches_a_target_whose_account_holds_another_installation(send, org, other_org):
    # Globex follows the same repository id through its own installation; Acme's installation pushes.
    theirs = connect(other_org, 2002, REPO, "acme/skills")
    mine = connect(org, INSTALLATION, REPO, "acme/skills")
    response, _ = send("push", push())
    assert response.json()["queued"] == 1
    assert list(SyncEvent.objects.values_list("target_id", flat=True)) == [mine.pk]
    # And a push naming an installation nobody connected reaches nobody.
    response, _ = send("push", push(installation=3003, after="d" * 40))
    assert response.json()["queued"] == 0
    assert not SyncEvent.objects.filter(target=theirs).exists()


@pytest.mark.parametrize("switch_off", ["target", "instance", "account"])
def test_a_push_skips_targets_that_are_not_synced(send, org, switch_off):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    if switch_off == "target":
        ConnectorTarget.objects.filter(pk=target.pk).update(status=ConnectorTarget.Status.DISABLED)
    elif switch_off == "instance":
        ConnectorInstance.objects.filter(pk=target.instance_id).update(status=ConnectorInstance.Status.DISABLED)
    else:
        ConnectorAccount.objects.update(status=ConnectorAccount.Status.DISCONNECTED)
    response, callbacks = send("push", push())
    assert response.json()["queued"] == 0
    assert callbacks == [] and not SyncEvent.objects.exists()


def test_a_push_with_a_malformed_head_sha_is_a_400(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    response, _ = send("push", push(after="not-a-sha"))
    assert response.status_code == 400
    assert "after" in response.json()["error"]["message"]
    assert not WebhookDelivery.objects.exists() and not SyncEvent.objects.exists()


def test_an_accepted_push_does_a_bounded_number_of_queries_per_target(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    connect(org, INSTALLATION, REPO, "acme/skills", instance_name="Support")
    with CaptureQueriesContext(connection) as queries:
        assert send("push", push())[0].json()["queued"] == 2
    statements = [q["sql"] for q in queries.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # delivery insert, target lookup, result update; per target: the (target, SHA) check and the event insert
    assert len(statements) == 3 + 2 * 2, statements


# installation

def test_a_deleted_installation_disconnects_the_account_holding_it_and_nothing_else(send, org, other_org):
    mine = connect(org, INSTALLATION, REPO, "acme/skills")
    also_mine = connect(org, INSTALLATION, REPO, "acme/skills", instance_name="Support")
    unrelated = connect(other_org, 2002, 777, "globex/skills")
    manual = {"event_type": SyncEvent.Type.MANUAL_RESYNC, "trigger": SyncEvent.Trigger.MANUAL}
    queued, _ = queue_sync_event(mine, **manual)
    other_queued, _ = queue_sync_event(unrelated, **manual)

    response, callbacks = send("installation", installation_event("deleted"))

    assert response.status_code == 202
    assert response.json()["queued"] == 0 and callbacks == []
    for target in (mine, also_mine):
        account = ConnectorAccount.objects.get(pk=target.instance.account_id)
        assert account.status == ConnectorAccount.Status.DISCONNECTED
        assert account.disconnected_at is not None
    untouched = ConnectorAccount.objects.get(pk=unrelated.instance.account_id)
    assert (untouched.status, untouched.disconnected_at) == (ConnectorAccount.Status.ACTIVE, None)
    # Work queued for the gone installation is dropped; other work stays.
    queued.refresh_from_db()
    other_queued.refresh_from_db()
    assert (queued.status, queued.error) == (SyncEvent.Status.IGNORED, "installation deleted")
    assert other_queued.status == SyncEvent.Status.QUEUED
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PROCESSED

    # The targets are no longer synced: a later push to them queues nothing.
    assert send("push", push())[0].json()["queued"] == 0


def test_a_suspended_installation_stops_syncing_until_it_is_unsuspended(send, org):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    send("installation", installation_event("suspend"))
    account = ConnectorAccount.objects.get()
    assert account.status == ConnectorAccount.Status.INACTIVE
    assert send("push", push())[0].json()["queued"] == 0

    send("installation", installation_event("unsuspend"))
    account.refresh_from_db()
    assert (account.status, account.disconnected_at) == (ConnectorAccount.Status.ACTIVE, None)
    assert send("push", push())[0].json()["queued"] == 1
    assert SyncEvent.objects.get().target_id == target.pk


def test_unsuspending_does_not_revive_a_deleted_installation(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    send("installation", installation_event("deleted"))
    send("installation", installation_event("unsuspend"))
    assert ConnectorAccount.objects.get().status == ConnectorAccount.Status.DISCONNECTED


def test_an_installation_created_event_is_accepted_and_changes_nothing(send, org):
    connect(org, INSTALLATION, REPO, "acme/skills")
    response, _ = send("installation", installation_event("created"))
    assert response.status_code == 202 and response.json()["queued"] == 0
    assert ConnectorAccount.objects.get().status == ConnectorAccount.Status.ACTIVE
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.IGNORED


# installation_repositories

def test_removed_repositories_disable_only_their_targets_under_that_installation(send, org, other_org):
    removed = connect(org, INSTALLATION, REPO, "acme/skills")
    removed_dev = connect(org, INSTALLATION, REPO, "acme/skills", branch="dev")
    kept = connect(org, INSTALLATION, 556, "acme/agents")
    elsewhere = connect(other_org, 2002, REPO, "acme/skills")  # same repository, another installation
    payload = {
        "action": "removed", "installation": {"id": INSTALLATION}, "repository_selection": "selected",
        "repositories_added": [], "repositories_removed": [{"id": REPO, "full_name": "acme/skills"}],
    }
    response, callbacks = send("installation_repositories", payload)

    assert response.status_code == 202 and callbacks == []
    for target in (removed, removed_dev):
        target.refresh_from_db()
        assert target.status == ConnectorTarget.Status.DISABLED
        assert "removed from GitHub App installation 1001" in target.disabled_reason
    for target in (kept, elsewhere):
        target.refresh_from_db()
        assert (target.status, target.disabled_reason) == (ConnectorTarget.Status.ACTIVE, "")
    assert WebhookDelivery.objects.get().result["targetsDisabled"] == 2
    assert send("push", push())[0].json()["queued"] == 0


def test_added_repositories_are_accepted_and_change_nothing(send, org):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    payload = {"action": "added", "installation": {"id": INSTALLATION},
               "repositories_added": [{"id": REPO}], "repositories_removed": []}
    assert send("installation_repositories", payload)[0].status_code == 202
    target.refresh_from_db()
    assert target.status == ConnectorTarget.Status.ACTIVE


# repository

def test_a_renamed_repository_is_followed_by_its_targets_and_resynced(send, org, other_org):
    main = connect(org, INSTALLATION, REPO, "acme/skills")
    dev = connect(org, INSTALLATION, REPO, "acme/skills", branch="dev")
    ConnectorTarget.objects.filter(pk=dev.pk).update(status=ConnectorTarget.Status.DISABLED)
    elsewhere = connect(other_org, 2002, REPO, "acme/skills")

    response, callbacks = send("repository", repository_event("renamed", "acme/skill-library"))

    assert response.status_code == 202
    assert response.json()["queued"] == 1
    for target in (main, dev):
        target.refresh_from_db()
        assert target.repository_full_name == "acme/skill-library"  # a disabled target follows the name too
    elsewhere.refresh_from_db()
    assert elsewhere.repository_full_name == "acme/skills"
    event = SyncEvent.objects.get()
    assert (event.target_id, event.event_type, event.trigger, event.head_sha) == (
        main.pk, "repository", "webhook", "")
    assert len(callbacks) == 1


def test_a_deleted_repository_disables_its_targets(send, org):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    send("repository", repository_event("deleted", "acme/skills"))
    target.refresh_from_db()
    assert target.status == ConnectorTarget.Status.DISABLED
    assert target.disabled_reason == "Repository deleted on GitHub."


def test_a_transferred_repository_is_followed_by_its_targets_and_resynced(send, org, other_org):
    main = connect(org, INSTALLATION, REPO, "acme/skills")
    elsewhere = connect(other_org, 2002, REPO, "acme/skills")
    # The shape of octokit's repository/transferred.with-installation example: the new owner in
    # repository.full_name, the old one in changes.owner.from.
    payload = {**repository_event("transferred", "acme-labs/skills"),
               "changes": {"owner": {"from": {"organization": {"login": "acme", "id": 9}}}}}
    payload["repository"]["owner"] = {"login": "acme-labs", "id": 10, "type": "Organization"}

    response, callbacks = send("repository", payload)

    assert response.status_code == 202
    assert response.json()["queued"] == 1
    main.refresh_from_db()
    assert main.repository_full_name == "acme-labs/skills"
    elsewhere.refresh_from_db()
    assert elsewhere.repository_full_name == "acme/skills"
    event = SyncEvent.objects.get()
    assert (event.target_id, event.event_type, event.trigger) == (main.pk, "repository", "webhook")
    assert WebhookDelivery.objects.get().result["targetsRenamed"] == 1
    assert len(callbacks) == 1


def test_a_form_encoded_rename_is_handled_as_its_json_would_be(send, org):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    response, _ = send("repository", repository_event("renamed", "acme/skill-library"), content_type=FORM)
    assert response.status_code == 202 and response.json()["queued"] == 1
    target.refresh_from_db()
    assert target.repository_full_name == "acme/skill-library"


def _from_a_repository_or_organization_webhook(payload, organization):
    """What a repository (or organization) webhook sends: the same event, with no installation."""
    payload = {key: value for key, value in payload.items() if key != "installation"}
    if organization:
        payload["organization"] = {"login": "acme", "id": 9}
    return payload


@pytest.mark.parametrize("organization", [False, True], ids=["repository webhook", "organization webhook"])
@pytest.mark.parametrize(("event", "payload"), [
    ("push", push()),
    ("repository", repository_event("renamed", "acme/x")),
    ("repository", repository_event("deleted", "acme/skills")),
])
def test_a_delivery_from_a_repository_or_organization_webhook_is_ignored_not_refused(
        send, org, event, payload, organization):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    response, callbacks = send(event, _from_a_repository_or_organization_webhook(payload, organization),
                               delivery_id="hook-1")

    assert response.status_code == 200
    reason = f"event {event} without an installation (a repository or organization webhook) is not handled"
    assert response.json() == {"ok": True, "accepted": False, "reason": reason}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.delivery_id, delivery.status, delivery.result) == (
        "hook-1", WebhookDelivery.Status.IGNORED, {"reason": reason})
    assert delivery.action == payload.get("action", "")
    target.refresh_from_db()
    assert (target.status, target.repository_full_name) == (ConnectorTarget.Status.ACTIVE, "acme/skills")
    assert callbacks == [] and not SyncEvent.objects.exists()


def test_an_installation_that_is_not_an_object_is_still_a_400(send, org):
    response, _ = send("repository", {**repository_event("renamed", "acme/x"), "installation": 1001})
    assert response.status_code == 400
    assert json.loads(response.content)["error"]["details"] == {"field": "installation.id"}
    assert not WebhookDelivery.objects.exists()


# payload values our rows cannot hold: a 400 naming the field, nothing stored, never a 500

def _removed(repository_id):
    return {"action": "removed", "installation": {"id": INSTALLATION}, "repositories_added": [],
            "repositories_removed": [{"id": REPO, "full_name": "acme/skills"}, {"id": repository_id}]}


def _with(payload, path, value):
    *parents, name = path.split(".")
    inner = payload
    for parent in parents:
        inner = inner[parent]
    inner[name] = value
    return payload


@pytest.mark.parametrize(("event", "payload", "field"), [
    ("push", _with(push(), "repository.id", 2**70), "repository.id"),
    ("push", _with(push(), "repository.id", 2**63), "repository.id"),
    ("push", _with(push(), "repository.id", 0), "repository.id"),
    ("push", _with(push(), "repository.id", True), "repository.id"),
    ("push", _with(push(), "installation.id", -1), "installation.id"),
    ("push", _with(push(), "installation.id", 2**64), "installation.id"),
    ("push", _with(push(), "ref", "refs/heads/ma\x00in"), "ref"),
    ("push", _with(push(), "ref", "refs/heads/\ud800"), "ref"),
    ("push", _with(push(), "ref", "refs/heads/" + "b" * 300), "ref"),
    ("push", _with(push(), "after", "\x00" * 40), "after"),
    ("installation", installation_event("deleted", installation=2**70), "installation.id"),
    ("installation_repositories", _removed(2**70), "repositories_removed[1].id"),
    ("installation_repositories", _removed("556"), "repositories_removed[1].id"),
    ("repository", repository_event("renamed", "acme/" + "x" * 5000), "repository.full_name"),
    ("repository", repository_event("renamed", "acme/ski\x00lls"), "repository.full_name"),
    ("repository", repository_event("renamed", "acme/skills/../../etc"), "repository.full_name"),
    ("repository", repository_event("renamed", "acme/skills", repo=2**70), "repository.id"),
])
def test_a_payload_value_our_rows_cannot_hold_is_a_400_naming_it_and_stores_nothing(
        send, org, event, payload, field):
    target = connect(org, INSTALLATION, REPO, "acme/skills")
    response, callbacks = send(event, payload)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["details"] == {"field": field}
    assert field in error["message"]
    assert callbacks == [] and not WebhookDelivery.objects.exists() and not SyncEvent.objects.exists()
    target.refresh_from_db()
    assert (target.status, target.repository_full_name) == (ConnectorTarget.Status.ACTIVE, "acme/skills")
    assert ConnectorAccount.objects.get().status == ConnectorAccount.Status.ACTIVE


def test_the_largest_ids_a_bigint_holds_are_accepted(send, org):
    connect(org, 2**63 - 1, 2**63 - 1, "acme/skills")
    response, _ = send("push", push(installation=2**63 - 1, repo=2**63 - 1))
    assert response.status_code == 202 and response.json()["queued"] == 1


# end to end, with the sync worker's task run in-process against the stub GitHub server

@pytest.fixture
def eager_tasks():
    """Enqueued tasks run in-process, whichever broker the settings name."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_a_signed_push_brings_the_pushed_files_into_config_objects(
        github, github_target, settings, org, eager_tasks, django_capture_on_commit_callbacks):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    repo = github.repository("acme/config", installation_id=101)
    repo.commit({"skills/a.md": "# A\n", "README.md": "not mapped\n"})
    target = github_target(repo, mappings=[("skills/**", "skill")])

    head = repo.update({"skills/b.md": "# B\n"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = deliver("push", push_payload(repo.id, repo.full_name, repo.installation_id, after=head))

    assert response.status_code == 202 and response.json()["queued"] == 1
    # one enqueue of the sync; the others tell the event log's consumers about the sync's events
    assert len([callback for callback in callbacks if not isinstance(callback, _AfterCommit)]) == 1
    event = SyncEvent.objects.get()
    assert (event.status, event.head_sha) == (SyncEvent.Status.COMPLETED, head)
    objects = ConfigObject.objects.filter(organization=org).order_by("relative_path")
    assert [(o.relative_path, o.type) for o in objects] == [("skills/a.md", "skill"),
                                                            ("skills/b.md", "skill")]  # README.md unmapped
    bindings = SourceBinding.objects.filter(target=target).values_list("path", "last_seen_revision")
    assert sorted(bindings) == [("skills/a.md", head), ("skills/b.md", head)]
    target.refresh_from_db()
    assert target.last_synced_sha == head


def test_another_organization_cannot_take_over_an_installation_and_its_pushes_never_reach_it(
        github, github_target, settings, org, other_org, eager_tasks, django_capture_on_commit_callbacks):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    repo = github.repository("acme/private", installation_id=101)
    repo.commit({"skills/secret.md": "# Secret\n"})
    github_target(repo)
    intruder = principal(other_org)
    with pytest.raises(Conflict):
        accounts.connect_account(intruder, repo.installation_id)
    with pytest.raises(Conflict):
        setup.setup_github(intruder, repo.installation_id, "Takeover", repo.id, repo.full_name, "main",
                              [mappings.MappingInput("**", "skill")])

    head = repo.update({"skills/more.md": "# More\n"})
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver("push", push_payload(repo.id, repo.full_name, repo.installation_id, after=head))

    assert response.json()["queued"] == 1
    assert ConfigObject.objects.filter(organization=org).count() == 2
    for model in (ConnectorAccount, ConnectorInstance, ConnectorTarget, SyncEvent, ConfigObject):
        assert not model.objects.filter(organization=other_org).exists(), model
