"""Abstract base models: the fields most tenant models share, written once.

Compose them as a model needs; a model that needs a different variant of a field (a reverse accessor on
`organization`, `auto_now` timestamps) declares that field itself.

- `OrganizationScoped`: the tenant the row belongs to; every tenant query filters on it.
- `Created` / `Timestamped`: `created_at` (set once), and `updated_at`, which the services set on each change.
- `CreatedBy`: the user who created the row (kept as null when the user is deleted).
- `SoftDeleted`: `deleted_at`; a deleted row stays (history, restore) but lists hide it.
- `SoftMembership`: `added_at` / `removed_at` for membership rows that are removed softly and can come back.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class OrganizationScoped(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class Created(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True


class Timestamped(Created):
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class CreatedBy(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class SoftDeleted(models.Model):
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_deleted(self):
        return self.deleted_at is not None


class SoftMembership(models.Model):
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self):
        return self.removed_at is None
