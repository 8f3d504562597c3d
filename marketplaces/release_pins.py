"""Pinning a plugin release: delivery serves the pinned release instead of the rolling latest. No HTTP.

At most one release per plugin is pinned (the `plugin_release_one_pinned` constraint); pinning one unpins
the plugin's other in the same transaction, under a lock on the plugin row so two pins cannot interleave.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplaces.models import PluginRelease
from plexica.errors import Conflict, NotFound
from plexica.plugins.models import Plugin


def _locked_release(organization, release_id):
    release = PluginRelease.objects.filter(organization=organization, pk=release_id).first()
    if release is None:
        raise NotFound(f"No release {release_id} in this organization.", title="Release not found")
    Plugin.objects.select_for_update().filter(pk=release.plugin_id).first()
    return PluginRelease.objects.select_for_update().get(pk=release.pk)


def pin_release(organization, release_id, now=None):
    """Pin `release_id` for its plugin and unpin the plugin's other pinned release; (release, unpinned ids)."""
    try:
        with transaction.atomic():
            release = _locked_release(organization, release_id)
            unpinned = list(PluginRelease.objects.filter(plugin_id=release.plugin_id, pinned_at__isnull=False)
                            .exclude(pk=release.pk).values_list("pk", flat=True))
            PluginRelease.objects.filter(pk__in=unpinned).update(pinned_at=None)
            if release.pinned_at is None:
                release.pinned_at = now or timezone.now()
                release.save(update_fields=["pinned_at"])
    except IntegrityError:
        # Only a writer that pins without locking the plugin gets here; the constraint kept the data right.
        raise Conflict(f"Another release of this plugin was pinned while {release_id} was; try again.",
                       releaseId=release_id) from None
    return release, unpinned


def unpin_release(organization, release_id):
    """Unpin `release_id` (delivery goes back to the rolling latest); True if it was pinned."""
    with transaction.atomic():
        release = _locked_release(organization, release_id)
        if release.pinned_at is None:
            return False
        release.pinned_at = None
        release.save(update_fields=["pinned_at"])
    return True
