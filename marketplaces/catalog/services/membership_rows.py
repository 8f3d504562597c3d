"""Membership rows (a config object in a plugin, a plugin in a marketplace) are removed softly (`removed_at`);
adding again reactivates the same row, so its history stays one row."""

from django.db import transaction
from django.utils import timezone


def activate(model, lookup, defaults, now=None):
    """Add or reactivate a membership row; (row, created, was_active)."""
    now = now or timezone.now()
    with transaction.atomic():
        row, created = model.objects.select_for_update().get_or_create(**lookup, defaults={**defaults, "added_at": now})
        if created:
            return row, True, False
        if row.is_active:
            return row, False, True
        for name, value in defaults.items():
            setattr(row, name, value)
        row.added_at, row.removed_at = now, None
        row.save()
    return row, False, False


def deactivate(model, filters, not_found, now=None):
    """Soft-remove the active membership row matching `filters`; raise `not_found` when there is none."""
    if not model.objects.filter(**filters, removed_at__isnull=True).update(removed_at=now or timezone.now()):
        raise not_found
