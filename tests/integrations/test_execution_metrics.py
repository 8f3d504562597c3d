"""plexica_integration_executions_total: executions against the real stub provider, by their outcome."""

import pytest

from plexica.observability import metrics
from tests.integrations.test_api import admin_api, connected_instance, execute  # noqa: F401  (admin_api: a fixture)
from tests.observability.scrape import parse, value

pytestmark = pytest.mark.usefixtures("eager_executions")


def test_each_finished_execution_is_counted_by_outcome(admin_api, provider):  # noqa: F811
    metrics.reset()
    instance = connected_instance(admin_api, provider)

    assert execute(admin_api, instance["id"], "getThing", {"id": "a", "limit": 5}).status_code == 200
    assert execute(admin_api, instance["id"], "getThing", {"id": "b", "limit": 5}).status_code == 200

    samples = parse(metrics.exposition().decode())[0]
    assert value(samples, "plexica_integration_executions_total", status="success") == 2
