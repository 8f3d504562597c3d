import uuid

from django.db import models
from django.utils import timezone

from plexica.models import OrganizationScoped, Timestamped


def new_etag():
    return uuid.uuid4().hex


class SharedEntry(OrganizationScoped, Timestamped):
    """(organization, namespace, key) -> any JSON value (null included), owned by one plugin.

    An entry whose `expires_at` has passed does not exist for readers, whether or not the purge
    task has removed its row yet.
    """

    namespace = models.CharField(max_length=128)
    key = models.CharField(max_length=128)
    value = models.JSONField(null=True, blank=True)
    owner = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="shared_entries")
    expires_at = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=32, default=new_etag, editable=False)

    class Meta:
        ordering = ["namespace", "key"]
        verbose_name_plural = "shared entries"
        constraints = [
            models.UniqueConstraint(fields=["organization", "namespace", "key"], name="shared_entry_unique_key")
        ]
        indexes = [models.Index(fields=["expires_at"], name="shared_entry_expires_idx")]

    def __str__(self):
        return f"{self.namespace}/{self.key}"

    def is_live(self, now=None):
        return self.expires_at is None or self.expires_at > (now or timezone.now())
