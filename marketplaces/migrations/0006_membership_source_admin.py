"""Memberships record where they were made: "admin" joins the sources, and a marketplace's plugins get the
source column the plugin memberships of config objects already have (earlier rows: "manual")."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplaces', '0005_access_grants_move_to_access'),
    ]

    operations = [
        migrations.AddField(
            model_name='marketplaceplugin',
            name='source',
            field=models.CharField(choices=[('manual', 'Manual'), ('connector', 'Connector'), ('api', 'API'), ('admin', 'Admin'), ('system', 'System')], default='manual', max_length=16),
        ),
        migrations.AlterField(
            model_name='pluginconfigobject',
            name='source',
            field=models.CharField(choices=[('manual', 'Manual'), ('connector', 'Connector'), ('api', 'API'), ('admin', 'Admin'), ('system', 'System')], default='manual', max_length=16),
        ),
    ]
