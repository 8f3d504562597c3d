"""Drop cached API-key lookups whenever something a key's authentication depends on changes."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey, Membership, Organization
from plexica.tenancy.services import forget_api_keys


def _forget(**filters):
    forget_api_keys(list(ApiKey.objects.filter(**filters).values_list("key_hash", flat=True)))


@receiver([post_save, post_delete], sender=ApiKey)
def api_key_changed(sender, instance, **kwargs):
    forget_api_keys([instance.key_hash])


@receiver([post_save, post_delete], sender=Organization)
def organization_changed(sender, instance, **kwargs):
    _forget(organization_id=instance.pk)


@receiver([post_save, post_delete], sender=Plugin)
def plugin_changed(sender, instance, **kwargs):
    _forget(plugin_id=instance.pk)


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender, instance, **kwargs):
    _forget(membership_id=instance.pk)


@receiver([post_save, post_delete], sender=settings.AUTH_USER_MODEL)
def user_changed(sender, instance, **kwargs):
    _forget(membership__user_id=instance.pk)
