"""An installation belongs to one organization: unique on (provider, installation_id), no longer per org.

The unique constraint's index replaces the plain (provider, installation_id) index.
"""

from django.db import migrations, models
from django.db.models import Count


def refuse_shared_installations(apps, schema_editor):
    """Name the installations to sort out by hand, rather than fail on the constraint or pick an owner."""
    account = apps.get_model("connectors", "ConnectorAccount")
    shared = (account.objects.values("provider", "installation_id")
              .annotate(orgs=Count("organization", distinct=True)).filter(orgs__gt=1)
              .order_by("installation_id"))
    if shared:
        listed = ", ".join(f"{row['provider']} {row['installation_id']} ({row['orgs']} organizations)"
                           for row in shared[:20])
        raise RuntimeError(
            "These installations are connected to more than one organization; an installation may belong to "
            "only one. Decide which organization keeps each one and delete the others' accounts (with their "
            f"instances) first: {listed}.")


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(refuse_shared_installations, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint(
            model_name="connectoraccount",
            name="connector_account_installation_unique",
        ),
        migrations.RemoveIndex(
            model_name="connectoraccount",
            name="cac_installation_idx",
        ),
        migrations.AddConstraint(
            model_name="connectoraccount",
            constraint=models.UniqueConstraint(fields=("provider", "installation_id"),
                                               name="connector_account_installation_unique"),
        ),
    ]
