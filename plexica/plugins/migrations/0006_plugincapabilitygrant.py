# Plugin capabilities (issue 15): what an organization lets each plugin do (ROUTES, TOOLS, EVENTS_PUB, ...).
# A grant row per plugin and capability, revoked softly; plugins without rows keep the legacy default
# (plexica.plugins.capabilities), so existing plugins need no data migration.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('plugins', '0005_plugin_installed_at_loaded_at'),
        ('tenancy', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PluginCapabilityGrant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('capability', models.CharField(choices=[('ROUTES', 'Routes: register HTTP services'), ('TOOLS', 'Tools: expose tools (endpoints with an input schema, MCP)'), ('EVENTS_PUB', 'Events, publish: emit events'), ('EVENTS_SUB', 'Events, subscribe: the event log, its stream, webhooks'), ('BACKGROUND_TASKS', 'Background tasks: run work in the background (not enforced yet)'), ('STATIC', 'Static: serve static files (not enforced yet)')], max_length=32)),
                ('granted_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('granted_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
                ('plugin', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='capability_grants', to='plugins.plugin')),
                ('revoked_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['plugin__plugin_id', 'capability'],
                'constraints': [models.UniqueConstraint(fields=('plugin', 'capability'), name='capability_grant_unique_per_plugin')],
            },
        ),
    ]
