import argparse
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from plexica.tenancy.models import ApiKey, Organization, is_valid_scope
from plexica.plugins.services import ensure_plugin
from plexica.tenancy.services import issue_api_key


MAX_EXPIRY_DAYS = 36500


def positive_int(value):
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of days, 1 or more")
    return int(value)


def scope(value):
    if not is_valid_scope(value):
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a scope: one of {', '.join(ApiKey.Scope.values)}, or ext:PLUGIN_ID:routes")
    return value


class Command(BaseCommand):
    help = (
        "Create an API key in an organization and print its token, alone, as the last line of output "
        "(shown once: only its hash is stored). Without --plugin or --member it is an org automation key."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug", help="Slug of the organization the key belongs to.")
        bind = parser.add_mutually_exclusive_group()
        bind.add_argument(
            "--plugin",
            metavar="PLUGIN_ID",
            help="The key acts as this plugin (plugin-<name>), which is registered if it is not there yet.",
        )
        bind.add_argument("--member", metavar="USERNAME", help="The key acts as this member of the org.")
        parser.add_argument("--name", help="Label of the key (default: 'cli key for <plugin|user|org>').")
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="extend",
            nargs="+",
            type=scope,
            metavar="SCOPE",
            help=f"Limit the key to these scopes ({', '.join(ApiKey.Scope.values)}, or ext:PLUGIN_ID:routes: "
                 "its gateway calls reach only those plugins); default: all.",
        )
        parser.add_argument(
            "--expires-in-days", type=positive_int, metavar="N", help="The key stops working after N days."
        )

    def handle(self, *args, org_slug, plugin, member, name, scopes, expires_in_days, **options):
        if plugin and member:  # call_command() bypasses argparse's mutually exclusive group
            raise CommandError("Use --plugin or --member, not both: a key acts as one plugin or one member.")
        # Capped: a date past year 9999 is an OverflowError (a traceback), not an expiry.
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise CommandError(f"--expires-in-days must be a whole number of days, 1 to {MAX_EXPIRY_DAYS}.")
        organization = Organization.objects.filter(slug=org_slug).first()
        if organization is None:
            raise CommandError(f"No organization '{org_slug}'. Create it: manage.py createorg {org_slug}")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        subject = plugin or member or org_slug

        with transaction.atomic():
            plugin_obj = membership = None
            if plugin:
                try:
                    plugin_obj, created = ensure_plugin(organization, plugin)
                except ValidationError as error:
                    raise CommandError(f"Invalid plugin id '{plugin}': {' '.join(error.messages)}") from error
                if created:
                    self.stdout.write(f"Registered plugin {plugin} ({plugin_obj.name}) in {org_slug}.")
            if member:
                membership = organization.memberships.filter(user__username=member).first()
                if membership is None:
                    raise CommandError(
                        f"'{member}' is not a member of {org_slug}. Add them first: "
                        f"manage.py createmember {org_slug} {member}"
                    )
            try:
                key, token = issue_api_key(
                    organization,
                    name=name or f"cli key for {subject}",
                    plugin=plugin_obj,
                    membership=membership,
                    scopes=scopes or (),
                    expires_at=expires_at,
                )
            except ValidationError as error:
                raise CommandError(f"Cannot create the key: {' '.join(error.messages)}") from error

        self.stdout.write(self.style.SUCCESS(f"Created {key.kind} key {key.pk} '{key.name}' in {org_slug}."))
        self.stdout.write(f"  acts as: {subject}")
        self.stdout.write(f"  prefix:  {key.prefix}")
        self.stdout.write(f"  scopes:  {', '.join(key.scopes) or 'all'}")
        self.stdout.write(f"  expires: {key.expires_at.isoformat() if key.expires_at else 'never'}")
        self.stdout.write("The token follows on the last line. It is shown once; store it now.")
        self.stdout.write(token)
