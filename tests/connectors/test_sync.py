from datetime import timedelta

import pytest
import time_machine
from django.db import InterfaceError, OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors import sync
from connectors.github import client
from connectors.models import (
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SourceBinding,
    SourceTombstone,
    SyncEvent,
)
from connectors.queueing import queue_sync_event
from marketplaces.catalog.models import MembershipSource, PluginConfigObject
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from plexica.plugins.models import Plugin
from tests.connectors.github_stub import executable, submodule, symlink

SKILL_A = "---\nname: Forecasting\ndescription: Quarterly numbers\n---\nUse the CRM.\n"
SKILL_A2 = "---\nname: Forecasting\ndescription: Quarterly numbers, by region\n---\nUse the CRM.\n"
SKILL_B = "---\nname: Pipeline review\n---\nEvery Monday.\n"
BAD_FRONT_MATTER = "---\nname: [unclosed\n---\nbody\n"


def run_resync(target, **kwargs):
    """Queue a manual resync of `target` and run it in this thread, as a worker would."""
    event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
    return sync.run_sync_event(event.pk, **kwargs)


def objects_by_path(target):
    bindings = SourceBinding.objects.filter(target=target, closed_at__isnull=True)
    bindings = bindings.select_related("config_object")
    return {binding.path: binding.config_object for binding in bindings}


@pytest.fixture
def repo(github):
    return github.repository("acme/sales-config", installation_id=101)


def test_the_reconcile_table_across_a_sequence_of_pushes(github, repo, github_target):
    target = github_target(repo, mappings=[("sales/skills/**", "skill")])

    # 1. Two skills added (and a README no mapping selects).
    first = repo.commit({"sales/skills/forecast.md": SKILL_A, "sales/skills/pipeline.md": SKILL_B,
                         "README.md": "# Sales config\n"})
    event = run_resync(target)
    assert event.status == SyncEvent.Status.COMPLETED
    assert event.summary == {"revision": first, "created": 2, "updated": 0, "deleted": 0, "skipped": 0,
                             "errors": []}
    objects = objects_by_path(target)
    forecast = objects["sales/skills/forecast.md"]
    assert sorted(objects) == ["sales/skills/forecast.md", "sales/skills/pipeline.md"]
    assert (forecast.type, forecast.source_mode, forecast.title) == ("skill", "connector", "Forecasting")
    assert (forecast.relative_path, forecast.file_name) == ("sales/skills/forecast.md", "forecast.md")
    version = forecast.latest_version()
    assert (version.created_via, version.source_revision) == (ConfigObjectVersion.CreatedVia.CONNECTOR, first)
    target.refresh_from_db()
    assert target.last_synced_sha == first and target.last_synced_at is not None
    instance = ConnectorInstance.objects.get(pk=target.instance_id)
    assert (instance.last_sync_status, instance.last_sync_revision) == ("completed", first)

    # 2. One changed, one unchanged: only the changed blob is fetched, only it gets a version.
    blobs_before = github.requests["blob"]
    second = repo.update({"sales/skills/forecast.md": SKILL_A2})
    event = run_resync(target)
    assert (event.summary["updated"], event.summary["skipped"], event.summary["created"]) == (1, 1, 0)
    assert github.requests["blob"] - blobs_before == 1
    forecast.refresh_from_db()
    assert forecast.description == "Quarterly numbers, by region"
    assert forecast.latest_version().source_revision == second
    assert ConfigObjectVersion.objects.filter(config_object=forecast).count() == 2
    assert ConfigObjectVersion.objects.filter(config_object=objects["sales/skills/pipeline.md"]).count() == 1

    # 3. One deleted: deleted version, object out of delivery, binding closed, tombstone.
    third = repo.update({"sales/skills/pipeline.md": None})
    event = run_resync(target)
    assert (event.summary["deleted"], event.summary["skipped"]) == (1, 1)
    pipeline = ConfigObject.objects.get(pk=objects["sales/skills/pipeline.md"].pk)
    assert pipeline.status == ConfigObject.Status.DELETED and pipeline.deleted_at is not None
    deleted_version = pipeline.latest_version()
    assert deleted_version.is_deleted_version and deleted_version.source_revision == third
    binding = SourceBinding.objects.get(target=target, path="sales/skills/pipeline.md")
    assert binding.closed_at is not None
    tombstone = SourceTombstone.objects.get(target=target, path="sales/skills/pipeline.md")
    assert (tombstone.config_object_id, tombstone.revision) == (pipeline.pk, third)

    # 4. Re-added with the same content: a new identity; the old one stays deleted.
    repo.update({"sales/skills/pipeline.md": SKILL_B})
    event = run_resync(target)
    assert event.summary["created"] == 1
    again = objects_by_path(target)["sales/skills/pipeline.md"]
    assert again.pk != pipeline.pk and again.status == ConfigObject.Status.ACTIVE
    assert ConfigObject.objects.get(pk=pipeline.pk).status == ConfigObject.Status.DELETED
    assert SourceBinding.objects.filter(target=target, path="sales/skills/pipeline.md").count() == 2


def test_a_file_that_does_not_parse_makes_the_event_partial_and_the_rest_goes_on(repo, github_target):
    target = github_target(repo)
    repo.commit({"skills/good.md": SKILL_A, "skills/bad.md": BAD_FRONT_MATTER})
    event = run_resync(target)
    assert event.status == SyncEvent.Status.PARTIAL
    assert event.summary["created"] == 1
    [error] = event.summary["errors"]
    assert error["path"] == "skills/bad.md" and "front matter is invalid at line 2" in error["error"]
    assert sorted(objects_by_path(target)) == ["skills/good.md"]  # no object for what never parsed
    target.refresh_from_db()
    assert target.last_synced_sha == repo.head()  # partial still counts as synced: no endless reconcile


def test_an_object_whose_new_content_breaks_keeps_its_last_good_version_until_fixed(repo, github_target):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A})
    run_resync(target)
    obj = objects_by_path(target)["skills/a.md"]

    repo.update({"skills/a.md": BAD_FRONT_MATTER})
    event = run_resync(target)
    obj.refresh_from_db()
    assert event.status == SyncEvent.Status.PARTIAL and obj.status == ConfigObject.Status.INGESTION_ERROR
    assert ConfigObjectVersion.objects.filter(config_object=obj).count() == 1

    # The same broken SHA again: still partial with the reason, and still nothing changes.
    event = run_resync(target)
    assert event.status == SyncEvent.Status.PARTIAL and event.summary["errors"][0]["path"] == "skills/a.md"
    assert ConfigObjectVersion.objects.filter(config_object=obj).count() == 1

    repo.update({"skills/a.md": SKILL_A2})
    event = run_resync(target)
    obj.refresh_from_db()
    assert event.status == SyncEvent.Status.COMPLETED and obj.status == ConfigObject.Status.ACTIVE
    assert ConfigObjectVersion.objects.filter(config_object=obj).count() == 2


def test_rerunning_at_the_same_sha_changes_nothing_and_fetches_no_blob(github, repo, github_target):
    target = github_target(repo)
    repo.commit({f"skills/s{i}.md": f"# Skill {i}\n" for i in range(5)})
    run_resync(target)
    snapshot = list(ConfigObject.objects.order_by("pk").values_list("pk", "updated_at", "status"))
    versions = ConfigObjectVersion.objects.count()
    blobs = github.requests["blob"]

    event = run_resync(target)
    assert event.summary == {"revision": repo.head(), "created": 0, "updated": 0, "deleted": 0, "skipped": 5,
                             "errors": []}
    assert list(ConfigObject.objects.order_by("pk").values_list("pk", "updated_at", "status")) == snapshot
    assert ConfigObjectVersion.objects.count() == versions
    assert github.requests["blob"] == blobs


def test_an_unchanged_resync_costs_the_same_queries_for_5_files_as_for_50(repo, github, github_target):
    def queries_of_unchanged_resync(file_count):
        repository = github.repository(f"acme/many-{file_count}", repository_id=5000 + file_count)
        target = github_target(repository)
        repository.commit({f"skills/s{i}.md": f"# Skill {i}\n" for i in range(file_count)})
        run_resync(target)
        event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
        with CaptureQueriesContext(connection) as queries:
            sync.run_sync_event(event.pk)
        return len(queries)

    assert queries_of_unchanged_resync(5) == queries_of_unchanged_resync(50)


def test_the_first_matching_mapping_by_position_wins_and_can_add_to_a_plugin(repo, github_target, crm_plugin):
    target = github_target(repo, mappings=[("agents/special/*.md", "agent", crm_plugin),
                                           ("agents/**", "command")])
    repo.commit({"agents/special/closer.md": "# Closer\n", "agents/deep/x/helper.md": "# Helper\n",
                 "agents/notes.txt": "plain"})
    run_resync(target)
    objects = objects_by_path(target)
    assert {path: obj.type for path, obj in objects.items()} == {
        "agents/special/closer.md": "agent", "agents/deep/x/helper.md": "command",
        "agents/notes.txt": "command"}
    membership = PluginConfigObject.objects.get(config_object=objects["agents/special/closer.md"])
    assert (membership.plugin_id, membership.source, membership.removed_at) == (
        crm_plugin.pk, MembershipSource.CONNECTOR, None)
    assert not PluginConfigObject.objects.filter(config_object=objects["agents/deep/x/helper.md"]).exists()


def test_a_mapping_that_changes_a_paths_type_gives_it_a_new_identity(repo, github_target):
    target = github_target(repo, mappings=[("prompts/**", "context")])
    repo.commit({"prompts/a.md": "# A\n"})
    run_resync(target)
    old = objects_by_path(target)["prompts/a.md"]
    target.mappings.update(object_type="command")
    event = run_resync(target)
    new = objects_by_path(target)["prompts/a.md"]
    assert (event.summary["deleted"], event.summary["created"]) == (1, 1)
    assert new.type == "command" and new.pk != old.pk


def test_files_too_large_or_not_text_are_errors_without_objects(repo, github, github_target):
    target = github_target(repo)
    repo.commit({"skills/huge.md": "x" * (1024 * 1024 + 1), "skills/binary.md": b"\xff\xfe\x00",
                 "skills/ok.md": SKILL_A})
    blobs = github.requests["blob"]
    event = run_resync(target)
    errors = {error["path"]: error["error"] for error in event.summary["errors"]}
    assert "larger than" in errors["skills/huge.md"] and "UTF-8" in errors["skills/binary.md"]
    assert github.requests["blob"] - blobs == 2  # the huge one is never downloaded
    assert sorted(objects_by_path(target)) == ["skills/ok.md"]


def test_a_disabled_target_is_ignored(repo, github, github_target):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A})
    ConnectorTarget.objects.filter(pk=target.pk).update(status=ConnectorTarget.Status.DISABLED)
    event = run_resync(target)
    assert event.status == SyncEvent.Status.IGNORED and "not active" in event.error
    assert github.requests["ref"] == 0 and not SourceBinding.objects.exists()


def test_several_syncs_share_one_installation_token(repo, github, github_target):
    target = github_target(repo)
    for n in range(3):
        repo.update({f"skills/s{n}.md": f"# S{n}\n"})
        assert run_resync(target).status == SyncEvent.Status.COMPLETED
    assert github.requests["token"] == 1


# Retries


@pytest.mark.parametrize("attempt, low, high", [(1, 15, 30), (2, 30, 60), (3, 60, 120), (5, 240, 480),
                                                (6, 450, 900), (12, 450, 900)])
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempt, low, high):
    assert sync.backoff_seconds(attempt, rand=lambda: 0.0) == low
    assert sync.backoff_seconds(attempt, rand=lambda: 1.0) == high
    assert low < sync.backoff_seconds(attempt, rand=lambda: 0.5) < high


def test_backoff_honours_retry_after_but_never_beyond_the_cap():
    assert sync.backoff_seconds(1, retry_after=120, rand=lambda: 0.0) == 120
    assert sync.backoff_seconds(1, retry_after=7200, rand=lambda: 0.0) == 15 * 60


def test_429_and_500_are_retried_with_growing_backoff_then_the_sync_succeeds(repo, github, github_target):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A})
    event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
    github.fail("ref", 429, retry_after=5)
    github.fail("tree", 500)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        failed_once = sync.run_sync_event(event.pk, rand=lambda: 0.0)
        assert (failed_once.status, failed_once.attempts) == (SyncEvent.Status.QUEUED, 1)
        # The larger of the backoff (15s) and GitHub's Retry-After (5s).
        assert failed_once.next_attempt_at == start + timedelta(seconds=15)
        assert "429" in failed_once.error and "retrying" in failed_once.error
        assert sync.run_sync_event(event.pk) is None  # not due yet

        clock.shift(timedelta(seconds=15))
        failed_twice = sync.run_sync_event(event.pk, rand=lambda: 0.0)
        assert (failed_twice.status, failed_twice.attempts) == (SyncEvent.Status.QUEUED, 2)
        assert failed_twice.next_attempt_at == timezone.now() + timedelta(seconds=30)
        assert "500" in failed_twice.error

        clock.shift(timedelta(seconds=30))
        done = sync.run_sync_event(event.pk)
    assert (done.status, done.attempts, done.error) == (SyncEvent.Status.COMPLETED, 3, "")
    assert sorted(objects_by_path(target)) == ["skills/a.md"]


def test_transient_failures_give_up_after_the_maximum_attempts(repo, github, github_target, settings):
    settings.GITHUB_SYNC_MAX_ATTEMPTS = 3
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A})
    event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
    github.fail("tree", 503, times=10)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for attempt in (1, 2, 3):
            outcome = sync.run_sync_event(event.pk)
            assert outcome.attempts == attempt
            if attempt < 3:
                assert outcome.status == SyncEvent.Status.QUEUED
                clock.shift(timedelta(minutes=15))
    assert outcome.status == SyncEvent.Status.FAILED and outcome.finished_at is not None
    assert outcome.error.startswith("Gave up after 3 attempts") and "503" in outcome.error
    assert github.requests["tree"] == 3
    assert ConnectorInstance.objects.get(pk=target.instance_id).last_sync_status == "failed"
    assert sync.run_sync_event(event.pk) is None  # failed is final


def test_a_permanent_4xx_fails_at_once(repo, github, github_target):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A})
    github.fail("ref", 403, message="Resource not accessible by integration")
    event = run_resync(target)
    assert (event.status, event.attempts, event.next_attempt_at) == (SyncEvent.Status.FAILED, 1, None)
    assert "403" in event.error and "not accessible" in event.error
    assert github.requests["ref"] == 1


def test_a_transient_failure_half_way_keeps_what_was_synced_and_the_retry_finishes(
        repo, github, github_target, monkeypatch):
    target = github_target(repo)
    repo.commit({"skills/a.md": "# A\n", "skills/b.md": "# B\n", "skills/c.md": "# C\n"})
    event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
    fetch = client.blob_bytes
    fetched = []

    def second_blob_fails(*args):
        fetched.append(args)
        if len(fetched) == 2:
            github.fail("blob", 502)
        return fetch(*args)

    monkeypatch.setattr(client, "blob_bytes", second_blob_fails)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = sync.run_sync_event(event.pk)
        assert first.status == SyncEvent.Status.QUEUED
        assert sorted(objects_by_path(target)) == ["skills/a.md"]  # saved before the failure, kept
        clock.shift(timedelta(minutes=15))
        second = sync.run_sync_event(event.pk)
    assert (second.status, second.summary["created"], second.summary["skipped"]) == (
        SyncEvent.Status.COMPLETED, 2, 1)
    assert sorted(objects_by_path(target)) == ["skills/a.md", "skills/b.md", "skills/c.md"]
    assert ConfigObject.objects.count() == 3


def test_a_path_too_long_to_store_is_that_files_error_and_the_rest_is_synced(repo, github, github_target):
    target = github_target(repo)
    long_path = "skills/" + "deep/" * 200 + "x" * 30 + ".md"  # 1040 characters: the binding holds 1024
    repo.commit({long_path: SKILL_A, "skills/ok.md": SKILL_B})
    blobs = github.requests["blob"]
    event = run_resync(target)
    assert (event.status, event.summary["created"]) == (SyncEvent.Status.PARTIAL, 1)
    message = f"The path is longer than {sync.MAX_PATH_LENGTH} characters."
    assert event.summary["errors"] == [{"path": long_path, "error": message}]
    assert github.requests["blob"] - blobs == 1  # checked before anything is fetched or inserted
    assert sorted(objects_by_path(target)) == ["skills/ok.md"]
    assert run_resync(target).status == SyncEvent.Status.PARTIAL  # and again next time, never wedged


def _failing_for(path, real, failure):
    """`real` (create_config_object), but running `failure()` for the file at `path`."""
    def create(principal, type_, source_mode, data, *args, **kwargs):
        if data.metadata["relativePath"] == path:
            failure()
        return real(principal, type_, source_mode, data, *args, **kwargs)
    return create


def test_an_unexpected_error_on_one_file_is_its_error_and_the_rest_is_synced(repo, github_target,
                                                                             monkeypatch):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A, "skills/broken.md": SKILL_B, "skills/z.md": "# Z\n"})

    def failing_statement():
        # A statement the database refuses: on PostgreSQL the transaction is unusable until the file's
        # savepoint is rolled back, so the files after it are only saved if that savepoint exists.
        ConnectorTarget.objects.create(organization=target.organization, instance=target.instance,
                                       repository_id=target.repository_id, repository_full_name="acme/x",
                                       branch=target.branch)

    monkeypatch.setattr(sync, "create_config_object",
                        _failing_for("skills/broken.md", sync.create_config_object, failing_statement))
    event = run_resync(target)
    assert (event.status, event.summary["created"]) == (SyncEvent.Status.PARTIAL, 2)
    [error] = event.summary["errors"]
    assert error["path"] == "skills/broken.md"
    assert error["error"].startswith("Unexpected error: IntegrityError")
    assert sorted(objects_by_path(target)) == ["skills/a.md", "skills/z.md"]
    assert ConfigObject.objects.count() == 2  # the broken file's object went with its savepoint

    monkeypatch.undo()
    event = run_resync(target)
    assert (event.status, event.summary["created"]) == (SyncEvent.Status.COMPLETED, 1)


@pytest.mark.requires_postgres
def test_a_data_error_of_one_file_on_postgresql_is_its_error_and_the_rest_is_synced(repo, github_target,
                                                                                     monkeypatch):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A, "skills/broken.md": SKILL_B, "skills/z.md": "# Z\n"})

    def data_error():
        with connection.cursor() as cursor:
            cursor.execute("SELECT CAST(%s AS smallint)", [2**40])  # out of range: a DataError

    monkeypatch.setattr(sync, "create_config_object",
                        _failing_for("skills/broken.md", sync.create_config_object, data_error))
    event = run_resync(target)
    assert (event.status, event.summary["created"]) == (SyncEvent.Status.PARTIAL, 2)
    assert event.summary["errors"][0]["error"].startswith("Unexpected error: DataError")
    assert sorted(objects_by_path(target)) == ["skills/a.md", "skills/z.md"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), RecursionError("maximum recursion depth exceeded")])
def test_any_exception_of_one_file_makes_the_event_partial(repo, github_target, monkeypatch, error):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A, "skills/b.md": SKILL_B})

    def fail():
        raise error

    monkeypatch.setattr(sync, "create_config_object",
                        _failing_for("skills/a.md", sync.create_config_object, fail))
    event = run_resync(target)
    assert event.status == SyncEvent.Status.PARTIAL
    assert event.summary["errors"] == [{"path": "skills/a.md",
                                        "error": f"Unexpected error: {type(error).__name__}: {error}"}]
    assert sorted(objects_by_path(target)) == ["skills/b.md"]


@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_a_database_connection_failure_is_not_one_files_error_the_event_is_retried(
        repo, github_target, monkeypatch, error):
    target = github_target(repo)
    repo.commit({"skills/a.md": SKILL_A, "skills/b.md": SKILL_B})

    def fail():
        raise error

    monkeypatch.setattr(sync, "create_config_object",
                        _failing_for("skills/b.md", sync.create_config_object, fail))
    event = run_resync(target)
    assert (event.status, event.attempts) == (SyncEvent.Status.QUEUED, 1)
    assert f"Unexpected error: {type(error).__name__}" in event.error and event.next_attempt_at is not None


def test_symlinks_and_submodules_are_skipped_never_synced_as_files(repo, github, github_target):
    target = github_target(repo, mappings=[("skills/**", "skill")])
    repo.commit({"skills/a.md": SKILL_A, "skills/run.md": executable(SKILL_B),
                 "skills/secret.md": symlink("../../../etc/passwd"), "skills/vendor": submodule("c" * 40)})
    blobs = github.requests["blob"]
    event = run_resync(target)
    assert event.status == SyncEvent.Status.COMPLETED
    assert (event.summary["created"], event.summary["skipped"], event.summary["errors"]) == (2, 2, [])
    assert sorted(objects_by_path(target)) == ["skills/a.md", "skills/run.md"]  # 100644 and 100755 only
    assert github.requests["blob"] - blobs == 2  # a link's target is never even read
    assert not ConfigObject.objects.filter(relative_path="skills/secret.md").exists()

    # A file that becomes a symlink is gone as a file: its object is removed like a deleted file's.
    obj = objects_by_path(target)["skills/a.md"]
    repo.update({"skills/a.md": symlink("run.md")})
    event = run_resync(target)
    assert (event.summary["deleted"], event.summary["skipped"]) == (1, 4)  # run.md unchanged, 3 not files
    assert sorted(objects_by_path(target)) == ["skills/run.md"]
    assert ConfigObject.objects.get(pk=obj.pk).status == ConfigObject.Status.DELETED


def _members(plugin):
    memberships = PluginConfigObject.objects.filter(plugin=plugin, removed_at__isnull=True)
    return sorted(memberships.values_list("config_object__relative_path", flat=True))


def test_a_mapping_that_gains_or_changes_its_plugin_adds_the_files_already_synced(repo, github_target, org,
                                                                                 crm_plugin):
    target = github_target(repo, mappings=[("skills/**", "skill")])
    repo.commit({"skills/a.md": SKILL_A, "skills/b.md": SKILL_B})
    run_resync(target)
    assert _members(crm_plugin) == []

    target.mappings.update(plugin=crm_plugin, auto_add_to_plugin=True)
    event = run_resync(target)  # nothing changed in the repository: every file is unchanged
    assert (event.status, event.summary["skipped"]) == (SyncEvent.Status.COMPLETED, 2)
    assert _members(crm_plugin) == ["skills/a.md", "skills/b.md"]
    added = PluginConfigObject.objects.values_list("source", "added_by", "organization")
    assert set(added) == {(MembershipSource.CONNECTOR, None, org.pk)}

    billing = Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing",
                                    version="1.0.0")
    target.mappings.update(plugin=billing)
    run_resync(target)
    assert _members(billing) == ["skills/a.md", "skills/b.md"]
    assert _members(crm_plugin) == ["skills/a.md", "skills/b.md"]  # adding never takes anything away


def test_a_new_mapping_into_a_plugin_that_now_selects_bound_files_adds_them(repo, github_target, crm_plugin):
    target = github_target(repo, mappings=[("skills/**", "skill")])
    repo.commit({"skills/special/a.md": SKILL_A, "skills/b.md": SKILL_B})
    run_resync(target)
    first = ConnectorMapping.objects.create(organization=target.organization, target=target, position=0,
                                            selector="skills/special/*.md", object_type="skill",
                                            plugin=crm_plugin, auto_add_to_plugin=True)
    target.mappings.exclude(pk=first.pk).update(position=1)
    run_resync(target)
    assert _members(crm_plugin) == ["skills/special/a.md"]
    binding = SourceBinding.objects.get(target=target, path="skills/special/a.md", closed_at__isnull=True)
    assert binding.mapping_id == first.pk  # the binding names the mapping that selects it now


def test_a_membership_removed_by_hand_is_not_added_back(repo, github_target, crm_plugin, system):
    from marketplaces.catalog.services.bundles import remove_config_object_from_plugin

    target = github_target(repo, mappings=[("skills/**", "skill", crm_plugin)])
    repo.commit({"skills/a.md": SKILL_A, "skills/b.md": SKILL_B})
    run_resync(target)
    remove_config_object_from_plugin(system, crm_plugin, objects_by_path(target)["skills/a.md"])
    repo.update({"skills/a.md": SKILL_A2})
    run_resync(target)
    assert _members(crm_plugin) == ["skills/b.md"]


def test_an_unchanged_resync_into_a_plugin_costs_the_same_queries_for_5_files_as_for_50(repo, github,
                                                                                       github_target,
                                                                                       crm_plugin):
    def queries_of_unchanged_resync(file_count):
        repository = github.repository(f"acme/plugin-{file_count}", repository_id=6000 + file_count)
        target = github_target(repository, mappings=[("skills/**", "skill", crm_plugin)])
        repository.commit({f"skills/s{i}.md": f"# Skill {i}\n" for i in range(file_count)})
        run_resync(target)
        event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
        with CaptureQueriesContext(connection) as queries:
            sync.run_sync_event(event.pk)
        return len(queries)

    assert queries_of_unchanged_resync(5) == queries_of_unchanged_resync(50)
