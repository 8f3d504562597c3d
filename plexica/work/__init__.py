"""The background-work toolkit every app's workers and outbound calls stand on.

- `queue`: enqueue a Celery task by its registered name (now, or once the transaction commits), so no
  module imports a `tasks.py`; the embedded mode's in-process background worker.
- `leases`: a model's rows as a work queue, claimed with a lease by compare-and-set UPDATEs, renewed and
  released under the claim.
- `backoff`: retry delays, exponential with full (or equal) jitter and a cap.
- `breaker`: a circuit breaker per name, shared by all workers through the cache.
- `ratelimit`: GCRA rate limits, several buckets checked and charged in one atomic Redis round trip, or
  in local memory in the embedded mode.

Nothing here knows a feature app.
"""
