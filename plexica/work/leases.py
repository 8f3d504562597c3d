"""Rows of a model as a work queue: claims with a lease, made and checked by compare-and-set UPDATEs.

A row is claimable when it is in a ready status and due (its due column empty or past), or when it is
held and its lease has expired: the worker holding it died, and another may take it over. A claim moves
the row to the held status, sets the lease, stamps the claim time and counts the attempt in one
conditional UPDATE, so of two workers racing for one row exactly one changes it (rows changed: 1 or 0).

The claim stamp is the holder's proof: renewing the lease and releasing the row match it, so a worker
whose row was taken over after its lease expired changes nothing and learns it lost the row.

    SYNC_QUEUE = LeasedQueue(SyncEvent, ready=[SyncEvent.Status.QUEUED], held=SyncEvent.Status.RUNNING,
                             due_field="next_attempt_at", claimed_at_field="started_at",
                             attempts_field="attempts")
    if SYNC_QUEUE.claim(event_id, lease=timedelta(minutes=5), now=now):
        event = SyncEvent.objects.get(pk=event_id)
        ...
        SYNC_QUEUE.renew(event, lease=timedelta(minutes=5))       # False: the event was taken over
        SYNC_QUEUE.release(event, status="completed", finished_at=now)  # False: not ours any more
"""

from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone


@dataclass(frozen=True)
class LeasedQueue:
    """How the rows of `model` are claimed: the statuses involved and the columns the claim writes.

    model: the Django model; its default manager is queried.
    ready: statuses a worker may claim (once due).
    held: the status of a claimed row.
    lease_field: when the holder's lease ends (a nullable DateTimeField; cleared on release).
    due_field: optional; a ready row is due when this is null or not after now.
    claimed_at_field: optional; set to `now` at each claim, and matched by renew and release.
    attempts_field: optional; incremented at each claim.
    status_field: the status column.
    """

    model: type
    ready: tuple
    held: str
    lease_field: str = "lease_expires_at"
    due_field: str | None = None
    claimed_at_field: str | None = None
    attempts_field: str | None = None
    status_field: str = "status"

    def __post_init__(self):
        object.__setattr__(self, "ready", tuple(self.ready))

    def claimable_q(self, now):
        """The condition of a claimable row at `now`, to combine with other filters."""
        ready = Q(**{f"{self.status_field}__in": self.ready})
        if self.due_field:
            ready &= Q(**{f"{self.due_field}__isnull": True}) | Q(**{f"{self.due_field}__lte": now})
        abandoned = Q(**{self.status_field: self.held, f"{self.lease_field}__lte": now})
        return ready | abandoned

    def claimable(self, now=None):
        """Rows a worker may claim at `now`: ready and due, or held with an expired lease."""
        now = now or timezone.now()
        return self.model._default_manager.filter(self.claimable_q(now))

    def claim(self, pk, *, lease, now=None, **changes):
        """Take row `pk` if it is claimable at `now`, holding it until now + `lease`; True when this call
        took it. `changes` are further columns the same UPDATE writes (finished_at=None, say)."""
        now = now or timezone.now()
        values = {self.status_field: self.held, self.lease_field: now + lease, **changes}
        if self.claimed_at_field:
            values[self.claimed_at_field] = now
        if self.attempts_field:
            values[self.attempts_field] = F(self.attempts_field) + 1
        return bool(self.claimable(now).filter(pk=pk).update(**values))

    def held_by(self, row):
        """Row `row` while it is still held under the claim `row` was read with (its claim stamp)."""
        condition = {"pk": row.pk, self.status_field: self.held}
        if self.claimed_at_field:
            condition[self.claimed_at_field] = getattr(row, self.claimed_at_field)
        return self.model._default_manager.filter(**condition)

    def renew(self, row, *, lease, now=None):
        """Extend the holder's lease to now + `lease`; False when the row is no longer held by this claim."""
        now = now or timezone.now()
        return bool(self.held_by(row).update(**{self.lease_field: now + lease}))

    def release(self, row, **changes):
        """Write `changes` and clear the lease, only while the row is still held by this claim; True when
        written. `changes` name the status the row moves to (done, failed, ready again with a due time)."""
        return bool(self.held_by(row).update(**{self.lease_field: None, **changes}))
