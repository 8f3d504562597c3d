import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from plexica.ids import public_id_field
from plexica.models import Created

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
slug_validator = RegexValidator(
    SLUG_PATTERN,
    "Use 2 to 63 characters: lowercase letters, digits and hyphens, starting with a letter or digit.",
)


class Organization(Created):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    id = public_id_field("org")
    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.name or self.slug

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


class Team(Created):
    id = public_id_field("team")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    slug = models.CharField(max_length=63, validators=[slug_validator])
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["organization__slug", "slug"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="team_slug_unique_per_org")]

    def __str__(self):
        return f"{self.name or self.slug} ({self.organization})"


class Membership(Created):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    id = public_id_field("mem")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    teams = models.ManyToManyField(Team, through="TeamMembership", related_name="members", blank=True)

    class Meta:
        ordering = ["organization__slug", "user__username"]
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_per_org")]

    def __str__(self):
        full_name = self.user.get_full_name().strip()
        who = f"{full_name} ({self.user.get_username()})" if full_name else self.user.get_username()
        return f"{who} — {self.get_role_display().lower()} of {self.organization}"

    @property
    def is_org_admin(self):
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class TeamMembership(Created):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="team_memberships")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="team_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "membership"], name="team_membership_unique")]

    def __str__(self):
        full_name = self.membership.user.get_full_name().strip()
        return f"{full_name or self.membership.user.get_username()} in team {self.team.name or self.team.slug}"

    def clean(self):
        if self.team_id and self.membership_id and self.team.organization_id != self.membership.organization_id:
            raise ValidationError("The team and the membership belong to different organizations.")


# The extensions seed's scope: a key that carries one or more may call (through the gateway) only those plugins.
PLUGIN_ROUTES_SCOPE_PATTERN = r"^ext:plugin-[a-z0-9][a-z0-9-]{0,92}:routes$"
_PLUGIN_ROUTES_SCOPE = re.compile(PLUGIN_ROUTES_SCOPE_PATTERN.removesuffix("$") + r"\Z")


def plugin_routes_scope(plugin_id):
    """The scope that lets a key call `plugin_id` through the gateway: `ext:{pluginId}:routes`."""
    return f"ext:{plugin_id}:routes"


def is_plugin_routes_scope(scope):
    return isinstance(scope, str) and bool(_PLUGIN_ROUTES_SCOPE.match(scope))


def is_valid_scope(scope):
    """One of ApiKey.Scope, or `ext:{pluginId}:routes`."""
    return isinstance(scope, str) and (scope in ApiKey.Scope.values or is_plugin_routes_scope(scope))


class ApiKey(Created):
    """A bearer credential of one organization. Only the SHA-256 of the token is stored."""

    class Scope(models.TextChoices):
        GATEWAY = "gateway", "Plugin gateway"
        API_READ = "api:read", "Admin API, read"
        API_WRITE = "api:write", "Admin API, read and write"
        EVENTS_EMIT = "events:emit", "Emit events"
        EVENTS_SUBSCRIBE = "events:subscribe", "Subscribe to events (stream, webhooks)"

    class Kind(models.TextChoices):
        ORGANIZATION = "organization", "Organization automation"
        PLUGIN = "plugin", "Plugin"
        MEMBER = "member", "Member"

    id = public_id_field("key")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False, help_text="The start of the token, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    plugin = models.ForeignKey(
        "plugins.Plugin",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="The key acts as this plugin.",
    )
    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="The key acts as this member.",
    )
    scopes = models.JSONField(
        default=list, blank=True, help_text="Empty means every scope the key's principal may use."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(plugin__isnull=True) | models.Q(membership__isnull=True),
                name="apikey_bound_to_plugin_or_member_not_both",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def routes_scope_plugins(self):
        """The plugin ids its `ext:{pluginId}:routes` scopes name: the only plugins it may call through the
        gateway; None when it carries no such scope (no limit)."""
        named = {scope[4:-7] for scope in self.scopes or () if is_plugin_routes_scope(scope)}
        return named or None

    @property
    def kind(self):
        if self.plugin_id:
            return self.Kind.PLUGIN
        if self.membership_id:
            return self.Kind.MEMBER
        return self.Kind.ORGANIZATION

    def is_usable(self, now=None):
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def clean(self):
        errors = {}
        if self.plugin_id and self.membership_id:
            errors["membership"] = "A key acts either as a plugin or as a member, not both."
        if self.organization_id:
            if self.plugin_id and self.plugin.organization_id != self.organization_id:
                errors["plugin"] = "This plugin belongs to another organization."
            if self.membership_id and self.membership.organization_id != self.organization_id:
                errors["membership"] = "This membership belongs to another organization."
        unknown = [s for s in (self.scopes or []) if not is_valid_scope(s)] if isinstance(self.scopes, list) else []
        if not isinstance(self.scopes, list) or unknown:
            errors["scopes"] = (f"Scopes must be a list drawn from: {', '.join(self.Scope.values)}, and "
                                "ext:{pluginId}:routes (e.g. ext:plugin-crm:routes).")
        if errors:
            raise ValidationError(errors)
