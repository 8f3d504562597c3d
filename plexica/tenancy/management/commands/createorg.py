from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from plexica.tenancy.services import ensure_organization


class Command(BaseCommand):
    help = (
        "Create an organization (tenant). Idempotent: for an existing slug it reports that the organization "
        "already exists and leaves it alone, except that --name renames it."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="2-63 lowercase letters, digits and hyphens, e.g. acme-corp.")
        parser.add_argument(
            "--name",
            help="Display name. New organization: defaults to the slug. Existing one: renames it to this.",
        )

    def handle(self, *args, slug, name, **options):
        try:
            organization, created, renamed = ensure_organization(slug, name)
        except ValidationError as error:
            raise CommandError(f"Cannot create organization '{slug}': {' '.join(error.messages)}") from error
        label = f"{organization.slug} ({organization.name})"
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created organization {label}."))
        elif renamed:
            self.stdout.write(self.style.SUCCESS(f"Organization {slug} already exists; renamed it: {label}."))
        else:
            self.stdout.write(f"Organization {label} already exists; nothing to do.")
