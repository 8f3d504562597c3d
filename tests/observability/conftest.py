import pytest

from plexica.observability import metrics
from tests.observability.scrape import parse


@pytest.fixture(autouse=True)
def _fresh_metrics():
    """Each test starts from zero (the single-process store; no PROMETHEUS_MULTIPROC_DIR in tests)."""
    metrics.reset()
    yield
    metrics.reset()


@pytest.fixture
def scrape(client, settings):
    """scrape(token=METRICS_TOKEN, path="/metrics") -> (samples, families), asserting a 200 in the text format.

    A token is set for the tests (full mode refuses without one); a test that overrides it sends its own."""
    settings.METRICS_TOKEN = "test-metrics-token"

    def make(token=None, path="/metrics"):
        from django.conf import settings as current

        token = token or current.METRICS_TOKEN
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = client.get(path, **headers)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.content.decode())

    return make
