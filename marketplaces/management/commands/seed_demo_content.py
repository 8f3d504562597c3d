"""Demo content, on top of `seed_demo` (which runs this command before printing its keys): config objects
bundled in plugins and a marketplace shared with the whole organization, so the demo member's key can try
delivery and access grants right away. Idempotent."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from marketplaces.catalog.models import Marketplace
from marketplaces.catalog.services import bundles, marketplaces, plugins
from marketplaces.config_objects.models import ConfigObject
from marketplaces.config_objects.services import VersionInput
from marketplaces.sharing import MARKETPLACE
from plexica.access import services as access
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Organization
from plexica.tenancy.principal import Principal

MARKETPLACE_NAME = "Sales tools"
OBJECTS = [
    # (plugin, type, title (the idempotency key), source)
    ("plugin-crm", "skill", "Summarize a deal", (
        "---\nname: Summarize a deal\ndescription: Three bullets on where a deal stands.\n---\n"
        "Read the deal's notes and emails, then write three bullets: stage, blockers, next step.\n")),
    ("plugin-crm", "command", "Log a call", (
        "---\nname: Log a call\ndescription: Turn call notes into a CRM activity.\n---\n"
        "Ask for the contact, the date and the outcome; create the activity.\n")),
    ("plugin-analytics", "agent", "Weekly report writer", (
        "---\nname: Weekly report writer\ndescription: Drafts the Monday usage report.\n---\n"
        "Pull last week's dashboards and write a one-page summary with three charts.\n")),
]


class Command(BaseCommand):
    help = ("Add demo config objects and the 'Sales tools' marketplace (viewable by everyone in the org) to the "
            "demo organization (seed_demo runs this; on its own, run seed_demo first).")

    def add_arguments(self, parser):
        parser.add_argument("--org", default="acme-corp", help="The organization's slug.")

    def handle(self, *args, org, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization {org}; run `manage.py seed_demo` first.")
        admin = Principal.system(organization)
        with transaction.atomic():
            for plugin_id, type_, title, source in OBJECTS:
                plugin = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
                if plugin is None:
                    raise CommandError(f"No plugin {plugin_id} in {org}; run `manage.py seed_demo` first.")
                obj = ConfigObject.objects.filter(organization=organization, title=title).first()
                created = obj is None
                if created:
                    obj, _ = bundles.create_config_object_in_plugins(
                        admin, type_, ConfigObject.SourceMode.CLOUD, VersionInput(raw_source_text=source),
                        [plugin_id])
                self.stdout.write(f"  {type_} '{title}' in {plugin_id}: {'created' if created else 'already there'}")
            marketplace = Marketplace.objects.filter(organization=organization, name=MARKETPLACE_NAME,
                                                     deleted_at__isnull=True).first()
            if marketplace is None:
                marketplace = marketplaces.create_marketplace(
                    admin, MARKETPLACE_NAME, "What the sales team installs.")
            for plugin_id in ("plugin-crm", "plugin-analytics"):
                marketplaces.add_plugin_to_marketplace(admin, marketplace,
                                                       plugins.lookup_plugin(organization, plugin_id))
            access.grant(admin, MARKETPLACE, marketplace.pk, access.VIEWER, org_wide=True)
            self.stdout.write(f"  marketplace '{MARKETPLACE_NAME}' ({marketplace.pk}): everyone may view it")
