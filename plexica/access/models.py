from django.conf import settings
from django.db import models

from plexica.access import registry
from plexica.ids import public_id_field
from plexica.models import CreatedBy, OrganizationScoped, Timestamped


class AccessRole(models.TextChoices):
    """Ordered: each role can do what the ones before it can."""

    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    MANAGER = "manager", "Manager"


ROLE_RANK = {AccessRole.VIEWER: 1, AccessRole.EDITOR: 2, AccessRole.MANAGER: 3}


class AccessGrant(OrganizationScoped, Timestamped, CreatedBy):
    """A role on one resource for one member, one team, or the whole organization (exactly one).

    Revocation is soft (`revoked_at`); granting the same subject again reactivates the row with the new role.
    `resource_type` is a registered shareable type (`plexica.access.registry`); `resource_id` is the
    resource's primary key (cfo_, plg_, mkt_, cin_, iins_).
    """

    Role = AccessRole

    id = public_id_field("grt")
    resource_type = models.CharField(max_length=32, choices=registry.choices)
    resource_id = models.CharField(max_length=32)
    membership = models.ForeignKey("tenancy.Membership", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="access_grants")
    team = models.ForeignKey("tenancy.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="access_grants")
    org_wide = models.BooleanField("organization-wide", default=False)
    subject_key = models.CharField(max_length=48, editable=False,
                                   help_text="mem:<id>, team:<id> or org: one grant row per subject")
    role = models.CharField(max_length=16, choices=AccessRole.choices)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "marketplaces_accessgrant"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["resource_type", "resource_id", "subject_key"],
                                    name="access_grant_subject_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(membership__isnull=False, team__isnull=True, org_wide=False)
                    | models.Q(membership__isnull=True, team__isnull=False, org_wide=False)
                    | models.Q(membership__isnull=True, team__isnull=True, org_wide=True)
                ),
                name="access_grant_exactly_one_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "resource_type", "resource_id"], name="grant_resource_idx"),
            models.Index(fields=["organization", "resource_type", "membership"], name="grant_member_idx"),
            models.Index(fields=["organization", "resource_type", "team"], name="grant_team_idx"),
        ]

    def __str__(self):
        return f"{self.role} on {self.resource_type} {self.resource_id} for {self.subject_label}"

    @property
    def is_active(self):
        return self.revoked_at is None

    @property
    def subject_label(self):
        if self.org_wide:
            return "the whole organization"
        if self.team_id:
            return f"team {self.team}"
        return f"member {self.membership.user}" if self.membership_id else "nobody"

    @staticmethod
    def subject_key_for(membership=None, team=None, org_wide=False):
        return f"mem:{membership.pk}" if membership else f"team:{team.pk}" if team else "org" if org_wide else ""

    def save(self, *args, **kwargs):
        self.subject_key = self.subject_key_for(self.membership, self.team, self.org_wide)
        super().save(*args, **kwargs)
