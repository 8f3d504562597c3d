"""Query counts of admin pages: a page's queries must not grow with the rows it shows (no N+1).

    assert_flat(client, url, grow=lambda: make_1000_more_rows())

loads `url` once, calls `grow()` (which adds rows of every kind the page shows, ~1,000 each), loads it again and
asserts the same number of queries, under `ceiling`. Returns the (count, response) of the second load.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def count_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), response, captured


def assert_flat(client, url, grow, ceiling=40):
    before, _, _ = count_queries(client, url)
    grow()
    after, response, captured = count_queries(client, url)
    queries = "\n".join(q["sql"][:300] for q in captured.captured_queries)
    assert after == before, f"{url}: {before} queries before the rows were added, {after} after:\n{queries}"
    assert after <= ceiling, f"{url}: {after} queries (ceiling {ceiling}):\n{queries}"
    return after, response
