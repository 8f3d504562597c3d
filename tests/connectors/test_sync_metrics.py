"""plexica_sync_outcomes_total: real syncs from the stub GitHub server, by the sync event's final status."""

from connectors.models import SyncEvent
from plexica.observability import metrics
from tests.connectors.test_sync import BAD_FRONT_MATTER, SKILL_A, repo, run_resync  # noqa: F401  (repo: a fixture)
from tests.observability.scrape import parse, value


def test_each_finished_sync_is_counted_by_its_status(repo, github_target):  # noqa: F811
    metrics.reset()
    target = github_target(repo)
    repo.commit({"skills/good.md": SKILL_A})
    assert run_resync(target).status == SyncEvent.Status.COMPLETED
    repo.commit({"skills/bad.md": BAD_FRONT_MATTER})
    assert run_resync(target).status == SyncEvent.Status.PARTIAL

    samples = parse(metrics.exposition().decode())[0]
    assert value(samples, "plexica_sync_outcomes_total", status=str(SyncEvent.Status.COMPLETED).lower()) == 1
    assert value(samples, "plexica_sync_outcomes_total", status=str(SyncEvent.Status.PARTIAL).lower()) == 1
