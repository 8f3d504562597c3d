import io

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from plexica.plugins.models import Plugin
from plexica.plugins.services import ensure_plugin
from plexica.tenancy.models import Membership
from plexica.tenancy.services import (
    add_member,
    create_organization,
    ensure_admin_login,
    ensure_team,
    ensure_user,
    reissue_api_key,
)

ORG_SLUG = "acme-corp"
ORG_NAME = "Acme Corp"
ADMIN_USERNAME = ADMIN_PASSWORD = "admin"
TEAM_SLUG = "platform"
MEMBER_USERNAME = MEMBER_PASSWORD = "mia"  # a plain member: signs in to their own page, /admin/me/
ORG_KEY_NAME = "demo org key"
ACTIVE, INSTALLED = Plugin.LifecycleState.ACTIVE, Plugin.LifecycleState.INSTALLED
PLUGINS = [
    ("plugin-crm", "CRM", "1.4.0", ACTIVE, "Contacts, companies and deals."),
    ("plugin-analytics", "Analytics", "2.1.0", ACTIVE, "Dashboards and usage reports."),
    ("plugin-marketing", "Marketing", "0.9.0", INSTALLED, "Campaigns and mailing lists."),
]


def env_name(plugin_id):
    return "PLEXICA_DEMO_KEY_" + plugin_id.upper().replace("-", "_")


class Command(BaseCommand):
    help = (
        "Create the demo organization acme-corp with three plugins, an admin user (admin/admin), a team, a "
        "plain member (mia), API keys and the demo content (seed_demo_content). Idempotent; every run gives "
        "the demo keys fresh tokens (earlier ones stop working) and prints them, after everything else, as "
        "PLEXICA_DEMO_ORG_KEY=..., PLEXICA_DEMO_KEY_<PLUGIN>=... and PLEXICA_DEMO_MEMBER_KEY=... lines."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where the server runs (for printed links)."
        )

    def handle(self, *args, base_url, **options):
        base_url = base_url.rstrip("/")
        with transaction.atomic():
            organization, created = create_organization(ORG_SLUG, ORG_NAME)
            self._report(f"organization {ORG_SLUG} ({organization.name})", created)

            plugins = []
            for plugin_id, name, version, state, description in PLUGINS:
                plugin, created = ensure_plugin(
                    organization, plugin_id, name=name, version=version, lifecycle_state=state,
                    description=description,
                )
                plugins.append(plugin)
                self._report(f"plugin {plugin_id} {plugin.version} ({plugin.lifecycle_state})", created)

            user, user_created = ensure_user(ADMIN_USERNAME, password=ADMIN_PASSWORD, is_staff=True)
            self._report(f"user {ADMIN_USERNAME}", user_created)
            if not user_created:
                self.stdout.write(f"  password of {ADMIN_USERNAME}: unchanged")
            ensure_admin_login(user)
            team, created = ensure_team(organization, TEAM_SLUG, "Platform")
            self._report(f"team {TEAM_SLUG}", created)
            add_member(organization, user, Membership.Role.OWNER, team_slug=TEAM_SLUG)
            self.stdout.write(f"  {ADMIN_USERNAME} is owner of {ORG_SLUG} and in team {TEAM_SLUG}")

            _, org_token, created = reissue_api_key(organization, name=ORG_KEY_NAME)
            self._report(f"org key '{ORG_KEY_NAME}'", created, existing="new token")
            plugin_tokens = []
            for plugin in plugins:
                key_name = f"demo key for {plugin.plugin_id}"
                _, token, created = reissue_api_key(organization, name=key_name, plugin=plugin)
                self._report(f"plugin key '{key_name}'", created, existing="new token")
                plugin_tokens.append((plugin.plugin_id, token))

            member_user, _ = ensure_user(MEMBER_USERNAME, password=MEMBER_PASSWORD)
            membership = add_member(organization, member_user, Membership.Role.MEMBER)[0]
            _, member_token, created = reissue_api_key(
                organization, name=f"demo key for {MEMBER_USERNAME}", membership=membership
            )
            self._report(f"member {MEMBER_USERNAME} ({membership.pk}) and their key", created, existing="new token")

        # Called by name: the content (config objects, a marketplace) belongs to the marketplaces app.
        call_command("seed_demo_content", org=ORG_SLUG, stdout=self.stdout, stderr=self.stderr)
        # The demo integration belongs to the connectors app; its id line is printed with the keys.
        integration = io.StringIO()
        call_command("seed_demo_integrations", org=ORG_SLUG, stdout=integration, stderr=self.stderr)
        shell_lines = [line for line in integration.getvalue().splitlines() if line.startswith("PLEXICA_DEMO_")]
        for line in integration.getvalue().splitlines():
            if line not in shell_lines:
                self.stdout.write(line)

        if not organization.is_active:
            warning = f"Organization {ORG_SLUG} is {organization.status}: its keys get 403."
            self.stdout.write(self.style.WARNING(warning))
        if not user.is_active:
            self.stdout.write(self.style.WARNING(f"User {ADMIN_USERNAME} is inactive and cannot log in."))
        login = f"{ADMIN_USERNAME} / {ADMIN_PASSWORD}" if user_created else (
            f"{ADMIN_USERNAME} (password unchanged; '{ADMIN_PASSWORD}' unless you changed it)"
        )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Plexica demo is ready."))
        self.stdout.write(f"  Organization (X-Tenant-Slug): {ORG_SLUG}")
        self.stdout.write(f"  Admin: {base_url}/admin/  login {login}")
        self.stdout.write(f"  Member page: {base_url}/admin/  login {MEMBER_USERNAME} / {MEMBER_PASSWORD} "
                          "(a plain member; the password is set only on the first run)")
        self.stdout.write(
            "  API keys (new tokens on every run of seed_demo; earlier ones no longer work): the org key, one "
            f"per plugin, one for {MEMBER_USERNAME} (a plain member). Paste these lines into your shell:"
        )
        self.stdout.write(f"PLEXICA_DEMO_ORG_KEY={org_token}")
        for plugin_id, token in plugin_tokens:
            self.stdout.write(f"{env_name(plugin_id)}={token}")
        self.stdout.write(f"PLEXICA_DEMO_MEMBER_KEY={member_token}")
        for line in shell_lines:
            self.stdout.write(line)
        self.stdout.write("  Try it:")
        self.stdout.write(
            f'curl -H "X-Tenant-Slug: {ORG_SLUG}" -H "Authorization: Bearer {org_token}" {base_url}/api/v1/me'
        )

    def _report(self, what, created, existing="already there"):
        self.stdout.write(f"  {what}: {'created' if created else existing}")
