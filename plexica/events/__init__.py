"""The event log: org-scoped facts, written in the same transaction as the change they record (an outbox).

- `models`: Event (public id `evt_...`, a per-organization position with no gaps), the per-organization
  sequence, and the cursors of the log's consumers.
- `log.emit(...)`: record an event inside the caller's transaction; a rolled-back change leaves none.
- `types`: the registry of event types the apps emit, filled from their `AppConfig.ready()`.
- `patterns`: type filters with wildcards (`config_object.*`, `*`).
- `consumers`: what reads the log after commit (webhook fan-out, the live stream), registered by apps;
  each consumer reads every organization's events in position order, once, through its cursor.

Positions are what make the log a stream: an organization's events are numbered 1, 2, 3, ... in commit
order, because the number is drawn from a per-organization counter row whose lock is held until the
emitting transaction ends. A reader that has seen position N knows the next one is N + 1, so a gap (an
event the Redis stream missed) is noticed and filled from the log, and resuming is `position > N`.
"""
