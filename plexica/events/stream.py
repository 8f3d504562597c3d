"""The live event stream: publishing committed events to Redis Streams, and reading them back in order.

Publishing (`publish`, a `consumers.listen` callback): after every commit that emitted, the organization's
events are added to its Redis stream `plexica:events:<organization pk>` in one round trip, each entry's
id being `<position>-0`, so the stream is ordered by position, bounded (`MAXLEN ~ EVENTS_STREAM_MAXLEN`)
and cannot hold an event twice (Redis refuses an id at or below the stream's top). A Redis error is
logged, never raised: the log is the truth, and readers fill whatever the stream lacks from it.

Reading (`follow` for a WSGI thread, `follow_async` for the ASGI event loop): a reader that has seen
position N delivers N+1 next, whatever happened in between. Each reader blocks on the stream on its own
(XREAD BLOCK, never a consumer group). When the next entry is past N+1 (an out-of-order publish lost
its place, the stream was trimmed past N, or Redis restarted empty), it reads the missing range from the
log first. While Redis cannot be reached it polls the log, and goes back to Redis once it answers. When
the stream stays quiet it checks the log once per wait, so a publish that failed costs latency, not the
event. Without REDIS_URL (the embedded mode) it polls the log every `LOG_POLL_SECONDS`.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import reduce

from django.conf import settings
from django.db import DatabaseError, connection
from redis.exceptions import RedisError

from plexica.errors import Invalid
from plexica.events.models import Event, EventSequence
from plexica.events.patterns import filter_error, matches_any, type_q

logger = logging.getLogger("plexica.events.stream")

KEY_PREFIX = "plexica:events:"
LOG_POLL_SECONDS = 0.5
LOG_BATCH = 500  # events read from the log at once, and entries read from Redis at once
RETRY_MILLISECONDS = 2000  # the `retry:` hint: how long an EventSource waits before it reconnects
REDIS_TIMEOUT_SECONDS = 2  # connect and command timeout of the publisher; readers add their block time

_publishers = {}  # REDIS_URL -> client (one pool per process)
_readers_lock = threading.Lock()
_readers = 0  # streams open in this process


def open_readers():
    """How many streams this process is serving now."""
    return _readers


def _count_reader(change):
    global _readers
    with _readers_lock:
        _readers += change


def stream_key(organization_pk):
    return f"{KEY_PREFIX}{organization_pk}"


def _iso(value):
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def event_payload(event):
    """An event as the API shows it (GET /api/v1/events items, stream `data:` lines, webhook context)."""
    return {
        "id": event.public_id,
        "type": event.type,
        "occurredAt": _iso(event.occurred_at),
        "actor": event.actor,
        "subject": event.subject,
        "data": event.data,
        "requestId": event.request_id or None,
        "position": event.position,
    }


def _publisher_client():
    url = settings.REDIS_URL
    if url not in _publishers:
        import redis

        _publishers[url] = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    return _publishers[url]


def publish(organization_pk, events):
    """Add committed `events` of one organization to its Redis stream in one round trip (no-op without
    REDIS_URL). Never raises; an entry Redis refuses is one a reader reads from the log."""
    if not settings.REDIS_URL or not events:
        return
    key = stream_key(organization_pk)
    try:
        pipe = _publisher_client().pipeline(transaction=False)
        for event in sorted(events, key=lambda e: e.position):
            pipe.xadd(key, {"event": json.dumps(event_payload(event), separators=(",", ":"))},
                      id=f"{event.position}-0", maxlen=settings.EVENTS_STREAM_MAXLEN, approximate=True)
        results = pipe.execute(raise_on_error=False)
    except Exception:
        logger.warning("Could not publish %d event(s) of organization %s to the live stream; readers read "
                       "them from the log", len(events), organization_pk, exc_info=True)
        return
    for result in results:
        if isinstance(result, Exception):
            # A later position got there first (another process's commit): readers fill this one from the log.
            logger.info("Live stream of organization %s refused an entry (%s); readers read it from the log",
                        organization_pk, result)


# Reading ------------------------------------------------------------------------------------------------


def current_position(organization_pk):
    """The organization's last committed position (0 before its first event): where "from now" starts."""
    value = EventSequence.objects.filter(organization_id=organization_pk).values_list("last_position", flat=True)
    return next(iter(value), 0)


def position_of(organization_pk, event_id):
    """The position of event `event_id` of this organization, or None (unknown, or another org's)."""
    value = Event.objects.filter(organization_id=organization_pk, public_id=event_id).values_list("position", flat=True)
    return next(iter(value), None)


@dataclass
class Subscription:
    """What one reader follows: an organization's events after `last`, those whose type passes `patterns`
    (every type when empty)."""

    organization_pk: str
    last: int
    patterns: tuple = ()
    _condition: object = field(default=None, repr=False)

    def wanted(self, event_type):
        return not self.patterns or matches_any(self.patterns, event_type)

    def condition(self):
        if self._condition is None and self.patterns:
            self._condition = reduce(lambda a, b: a | b, (type_q(p) for p in self.patterns))
        return self._condition

    def read_log(self, before=None):
        """The log's events after `last` (and before position `before` when given), at most LOG_BATCH of
        them, advancing `last` over what it read. `before` is a committed position, so everything under it
        is committed too; without it the read stops at the organization's last committed position.
        A database error is logged and reads nothing: the caller tries again on its next turn."""
        try:
            upper = before - 1 if before is not None else current_position(self.organization_pk)
            if upper <= self.last:
                return []
            rows = Event.objects.filter(organization_id=self.organization_pk, position__gt=self.last,
                                        position__lte=upper)
            if self.patterns:
                rows = rows.filter(self.condition())
            rows = list(rows.order_by("position")[:LOG_BATCH])
        except DatabaseError as exc:
            logger.warning("Live stream reader of organization %s could not read the log (%s); trying again",
                           self.organization_pk, exc)
            return []
        self.last = rows[-1].position if len(rows) == LOG_BATCH else upper
        return [event_payload(row) for row in rows]

    def read_log_and_release(self, before=None):
        """`read_log` for a thread outside any request (ASGI): hands the connection back when done."""
        try:
            return self.read_log(before)
        finally:
            connection.close()

    def take(self, entries):
        """Redis entries [(id, fields)] → (payloads to send, position of the first entry past a gap or
        None). Advances `last` over what it hands out; on a gap it stops there so the caller reads the
        log up to that position first."""
        out = []
        for entry_id, fields in entries:
            position = int(entry_id.split(b"-", 1)[0])
            if position <= self.last:
                continue
            if position > self.last + 1:
                return out, position
            self.last = position
            payload = json.loads(fields[b"event"])
            if self.wanted(payload["type"]):
                out.append(payload)
        return out, None


def subscribe(principal, *, last_event_id=None, patterns=()):
    """A Subscription to the principal's organization: after the event `last_event_id` (an `evt_` id of
    this organization) when given, else from now; of the types that match one of `patterns`.

    Who may: the event log's readers (`services.require_log_access`: org keys, owners, admins, superusers
    and plugin keys, whose plugin needs EVENTS_SUB). Raises Forbidden for a member (or a plugin without
    EVENTS_SUB), Invalid for a bad filter or a Last-Event-ID that names no event of this organization (an unknown id and another organization's id answer the same; retention may also have
    purged it: reconnect without it and read the gap with GET /api/v1/events).
    """
    from plexica.events.services import require_subscriber

    require_subscriber(principal, "Following the event stream")
    for pattern in patterns:
        problem = filter_error(pattern)
        if problem:
            raise Invalid(f"type: {problem}", code="validation_error", field="type")
    organization_pk = principal.organization.pk
    if last_event_id is not None:
        position = position_of(organization_pk, last_event_id)
        if position is None:
            raise Invalid("Last-Event-ID names no event of this organization (unknown, or purged by retention): "
                          "reconnect without it to follow from now, and read what you missed with "
                          "GET /api/v1/events.", code="unknown_last_event_id", lastEventId=last_event_id[:64])
    else:
        position = current_position(organization_pk)
    return Subscription(organization_pk, position, tuple(dict.fromkeys(patterns)))


def sse_event(payload):
    return f"id: {payload['id']}\nevent: {payload['type']}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


HEARTBEAT = ": heartbeat\n\n"
PREAMBLE = f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"


class _Budget:
    """When the stream ends (maxEvents, maxSeconds) and when the next heartbeat is due."""

    def __init__(self, max_events, max_seconds, clock=time.monotonic):
        self.clock = clock
        self.left = max_events
        self.deadline = clock() + max_seconds if max_seconds else None
        self.heartbeat_every = settings.EVENTS_STREAM_HEARTBEAT_SECONDS
        self.wrote()

    def wrote(self):
        self.heartbeat_at = self.clock() + self.heartbeat_every

    def spend(self, events):
        """The events to send (cut to what is left) and whether the stream is done after them."""
        if self.left is None:
            return events, False
        events = events[:self.left]
        self.left -= len(events)
        return events, self.left <= 0

    def expired(self):
        return self.deadline is not None and self.clock() >= self.deadline

    def wait(self):
        """Seconds to wait for events before something else is due (a heartbeat, the end)."""
        due = self.heartbeat_at if self.deadline is None else min(self.heartbeat_at, self.deadline)
        return max(0.0, due - self.clock())

    def heartbeat_due(self):
        return self.clock() >= self.heartbeat_at


def _reader_url():
    return settings.REDIS_URL or None


def follow(subscription, *, max_events=None, max_seconds=None):
    """The SSE text of `subscription`'s events, for a WSGI server's thread (blocking reads)."""
    budget = _Budget(max_events, max_seconds)
    url = _reader_url()
    client = None
    if url:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_timeout=budget.heartbeat_every + REDIS_TIMEOUT_SECONDS)
    key = stream_key(subscription.organization_pk)
    redis_ok = True
    _count_reader(1)
    try:
        yield PREAMBLE
        while not budget.expired():
            events, polled = [], False
            if client is not None:
                block = max(1, int(budget.wait() * 1000))  # BLOCK 0 would wait forever
                try:
                    answer = client.xread({key: f"{subscription.last}-0"}, count=LOG_BATCH, block=block)
                    if not redis_ok:
                        logger.info("Live stream reader of organization %s reached Redis again",
                                    subscription.organization_pk)
                    redis_ok = True
                except (RedisError, OSError) as exc:
                    if redis_ok:
                        logger.warning("Live stream reader lost Redis (%s); reading the log until it is back", exc)
                    redis_ok = False
                    answer = None
                if redis_ok:
                    entries = answer[0][1] if answer else []
                    events, gap = subscription.take(entries)
                    if gap is not None:
                        events += subscription.read_log(before=gap)
                    elif not entries:
                        polled = True
            if client is None or not redis_ok or polled:
                events += subscription.read_log()
                if (client is None or not redis_ok) and not events:
                    time.sleep(min(LOG_POLL_SECONDS, budget.wait()))
            events, done = budget.spend(events)
            if events:
                yield "".join(sse_event(payload) for payload in events)
                budget.wrote()
            if done:
                return
            if budget.heartbeat_due():
                yield HEARTBEAT
                budget.wrote()
    finally:
        _count_reader(-1)
        if client is not None:
            client.close()


async def follow_async(subscription, *, max_events=None, max_seconds=None):
    """The SSE text of `subscription`'s events, for the ASGI event loop (redis.asyncio; the log is read in
    a worker thread that hands its pooled connection back after each read)."""
    import asyncio

    from asgiref.sync import sync_to_async

    budget = _Budget(max_events, max_seconds)
    url = _reader_url()
    client = None
    if url:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                              socket_timeout=budget.heartbeat_every + REDIS_TIMEOUT_SECONDS)
    read_log = sync_to_async(subscription.read_log_and_release, thread_sensitive=False)
    key = stream_key(subscription.organization_pk)
    redis_ok = True
    _count_reader(1)
    try:
        yield PREAMBLE
        while not budget.expired():
            events, polled = [], False
            if client is not None:
                block = max(1, int(budget.wait() * 1000))  # BLOCK 0 would wait forever
                try:
                    answer = await client.xread({key: f"{subscription.last}-0"}, count=LOG_BATCH, block=block)
                    if not redis_ok:
                        logger.info("Live stream reader of organization %s reached Redis again",
                                    subscription.organization_pk)
                    redis_ok = True
                except (RedisError, OSError) as exc:
                    if redis_ok:
                        logger.warning("Live stream reader lost Redis (%s); reading the log until it is back", exc)
                    redis_ok = False
                    answer = None
                if redis_ok:
                    entries = answer[0][1] if answer else []
                    events, gap = subscription.take(entries)
                    if gap is not None:
                        events += await read_log(before=gap)
                    elif not entries:
                        polled = True
            if client is None or not redis_ok or polled:
                events += await read_log()
                if (client is None or not redis_ok) and not events:
                    await asyncio.sleep(min(LOG_POLL_SECONDS, budget.wait()))
            events, done = budget.spend(events)
            if events:
                yield "".join(sse_event(payload) for payload in events)
                budget.wrote()
            if done:
                return
            if budget.heartbeat_due():
                yield HEARTBEAT
                budget.wrote()
    finally:
        _count_reader(-1)
        if client is not None:
            await client.aclose()
