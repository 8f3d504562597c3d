"""The event log's tables."""

from django.db import models
from django.utils import timezone

from plexica.ids import PublicIdGenerator


class Event(models.Model):
    """One fact about an organization, immutable once written.

    `position` numbers the organization's events 1, 2, 3, ... in commit order, with no gaps (see the
    package docstring); `public_id` is what the API shows. The actor is stored as its kind and public
    id (an API key id, a username, a plugin id, or "system") so the event outlives the actor.
    """

    class ActorType(models.TextChoices):
        KEY = "key", "API key"
        MEMBER = "member", "Member"
        PLUGIN = "plugin", "Plugin"
        SUPERUSER = "superuser", "Superuser"
        SYSTEM = "system", "System"

    id = models.BigAutoField(primary_key=True)
    public_id = models.CharField(max_length=32, unique=True, default=PublicIdGenerator("evt"), editable=False,
                                 verbose_name="event id")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    position = models.BigIntegerField(editable=False)
    type = models.CharField(max_length=200)
    occurred_at = models.DateTimeField(default=timezone.now, editable=False)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=150, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    # Set by POST /api/v1/events with an Idempotency-Key: a retry finds this event instead of adding one.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, editable=False)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-position"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "position"], name="event_position_unique"),
            models.UniqueConstraint(
                fields=["organization", "actor_id", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="event_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "type", "position"], name="event_org_type_idx"),
            models.Index(fields=["organization", "subject_type", "subject_id", "position"], name="event_org_subject_idx"),
            models.Index(fields=["organization", "occurred_at"], name="event_org_occurred_idx"),
            models.Index(fields=["occurred_at"], name="event_occurred_idx"),
        ]

    def __str__(self):
        return f"{self.type} ({self.public_id})"

    @property
    def actor(self):
        return {"type": self.actor_type, "id": self.actor_id or None}

    @property
    def subject(self):
        if not self.subject_type:
            return None
        return {"type": self.subject_type, "id": self.subject_id}


class EventSequence(models.Model):
    """The last position given to an event of the organization. Emitting increments it in the emitting
    transaction, so the row lock orders an organization's events by commit (see the package docstring)."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, primary_key=True,
                                        related_name="+")
    last_position = models.BigIntegerField(default=0)


class ConsumerCursor(models.Model):
    """How far a consumer of the log (`consumers.register`) has read an organization's events."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    consumer = models.CharField(max_length=64)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "consumer"], name="event_consumer_cursor_unique"),
        ]
