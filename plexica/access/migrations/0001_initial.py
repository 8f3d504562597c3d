"""Access grants move from the marketplaces app to the access app: the table and its rows stay as they are.

Only Django's state changes (SeparateDatabaseAndState); the content type is renamed, so admin permissions
and history keep pointing at the same model.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import plexica.access.registry
import plexica.ids


def rename_content_type(apps, schema_editor, old="marketplaces", new="access"):
    content_types = apps.get_model("contenttypes", "ContentType")
    if not content_types.objects.filter(app_label=new, model="accessgrant").exists():
        content_types.objects.filter(app_label=old, model="accessgrant").update(app_label=new)


def restore_content_type(apps, schema_editor):
    rename_content_type(apps, schema_editor, old="access", new="marketplaces")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("marketplaces", "0004_config_object_search_index"),
        ("tenancy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="AccessGrant",
                    fields=[
                        ("id", models.CharField(default=plexica.ids.PublicIdGenerator("grt"), editable=False,
                                                max_length=32, primary_key=True, serialize=False, verbose_name="ID")),
                        ("resource_type", models.CharField(choices=plexica.access.registry.choices, max_length=32)),
                        ("resource_id", models.CharField(max_length=32)),
                        ("org_wide", models.BooleanField(default=False, verbose_name="organization-wide")),
                        ("subject_key", models.CharField(
                            editable=False, help_text="mem:<id>, team:<id> or org: one grant row per subject",
                            max_length=48)),
                        ("role", models.CharField(choices=[("viewer", "Viewer"), ("editor", "Editor"),
                                                           ("manager", "Manager")], max_length=16)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("created_by", models.ForeignKey(blank=True, null=True,
                                                         on_delete=django.db.models.deletion.SET_NULL,
                                                         related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("membership", models.ForeignKey(blank=True, null=True,
                                                         on_delete=django.db.models.deletion.CASCADE,
                                                         related_name="access_grants", to="tenancy.membership")),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                           related_name="+", to="tenancy.organization")),
                        ("revoked_by", models.ForeignKey(blank=True, null=True,
                                                         on_delete=django.db.models.deletion.SET_NULL,
                                                         related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("team", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                                   related_name="access_grants", to="tenancy.team")),
                    ],
                    options={
                        "db_table": "marketplaces_accessgrant",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["organization", "resource_type", "resource_id"],
                                         name="grant_resource_idx"),
                            models.Index(fields=["organization", "resource_type", "membership"],
                                         name="grant_member_idx"),
                            models.Index(fields=["organization", "resource_type", "team"], name="grant_team_idx"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(fields=("resource_type", "resource_id", "subject_key"),
                                                    name="access_grant_subject_unique"),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("membership__isnull", False), ("org_wide", False), ("team__isnull", True)),
                                    models.Q(("membership__isnull", True), ("org_wide", False), ("team__isnull", False)),
                                    models.Q(("membership__isnull", True), ("org_wide", True), ("team__isnull", True)),
                                    _connector="OR"),
                                name="access_grant_exactly_one_subject"),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(rename_content_type, restore_content_type),
    ]
