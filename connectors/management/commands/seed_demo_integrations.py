"""Demo integration, on top of `seed_demo` (which runs this command): a published "Demo CRM" definition of the
demo service on 127.0.0.1:3100 (`make run` serves it) and a connected instance, so the README's execute
example answers at once. Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from connectors.integrations import definitions, instances
from connectors.integrations.models import IntegrationDefinition, IntegrationInstance
from plexica.tenancy.models import Organization
from plexica.tenancy.principal import Principal

NAME, VERSION = "Demo CRM", "1.0.0"
METHODS = [
    {"name": "listContacts", "description": "A page of contacts",
     "paramSchema": {"type": "object", "additionalProperties": False,
                     "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100},
                                    "offset": {"type": "integer", "minimum": 0}}},
     "resultSchema": {"type": "array", "items": {"type": "object", "required": ["id", "name"]}},
     "request": {"method": "GET", "path": "/contacts", "query": {"limit": "{limit}", "offset": "{offset}"}},
     "rateLimits": {"requestsPerMinute": 60, "burstLimit": 10}, "timeoutMs": 5000},
    {"name": "getContact", "description": "One contact by id",
     "paramSchema": {"type": "object", "required": ["id"], "additionalProperties": False,
                     "properties": {"id": {"type": "string", "pattern": "^cnt_[0-9]{3}$"}}},
     "resultSchema": {"type": "object", "required": ["id", "name", "email"]},
     "request": {"method": "GET", "path": "/contacts/{id}"},
     "rateLimits": {"requestsPerMinute": 60, "burstLimit": 10}, "timeoutMs": 5000},
]


class Command(BaseCommand):
    help = "Add the demo integration (definition and connected instance) to the demo organization."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="acme-corp", help="The organization's slug.")
        parser.add_argument("--base-url", default="http://127.0.0.1:3100", help="The demo service's URL.")

    def handle(self, *args, org, base_url, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization {org}; run `manage.py seed_demo` first.")
        system = Principal.system(organization)
        definition = IntegrationDefinition.objects.filter(organization=organization, name=NAME,
                                                          version=VERSION).first()
        created = definition is None
        if created:
            definition = definitions.create(
                system, name=NAME, version=VERSION, description="The demo CRM service of make run",
                methods=METHODS, config_schema={"type": "object", "required": ["baseUrl"],
                                                "properties": {"baseUrl": {"type": "string"}}},
                default_config={"baseUrl": base_url})
            definitions.transition(system, definition.pk, IntegrationDefinition.Status.PUBLISHED)
        self.stdout.write(f"  integration definition {NAME} {VERSION}: {'created' if created else 'already there'}")
        instance = IntegrationInstance.objects.filter(organization=organization, name=NAME).first()
        if instance is None:
            instance = instances.create(system, definition_id=definition.pk, name=NAME)
        self.stdout.write(f"  integration instance {NAME}: {instance.status} ({instance.pk})")
        self.stdout.write(f"PLEXICA_DEMO_INTEGRATION_INSTANCE={instance.pk}")
