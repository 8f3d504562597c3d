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
def scrape(client):
    """scrape(token=None, path="/metrics") -> (samples, families), asserting a 200 in the text format."""

    def make(token=None, path="/metrics"):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = client.get(path, **headers)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.content.decode())

    return make
