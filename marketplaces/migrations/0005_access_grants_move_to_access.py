"""Access grants now belong to the access app (plexica/access, migration access.0001): state only, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("marketplaces", "0004_config_object_search_index"),
        ("access", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="AccessGrant")],
        ),
    ]
