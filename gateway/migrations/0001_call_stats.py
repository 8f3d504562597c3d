"""Gateway call statistics: per hour, calling plugin and target plugin, the calls, errors and total time,
flushed from the counters each call increments (gateway.callstats)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('plugins', '0004_lifecycletransition'),
        ('tenancy', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='GatewayCallStat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField(help_text='The start of the hour (UTC).')),
                ('target_plugin_id', models.CharField(blank=True, help_text='The plugin whose service was called; empty when no such service.', max_length=100)),
                ('calls', models.PositiveIntegerField(default=0)),
                ('errors', models.PositiveIntegerField(default=0, help_text='Calls the gateway refused or failed (any status it answered itself) or the upstream answered with a 5xx.')),
                ('duration_ms', models.PositiveBigIntegerField(default=0, help_text="The calls' total time, in milliseconds.")),
                ('caller', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='plugins.plugin')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
            options={
                'verbose_name': 'gateway call statistic',
                'ordering': ['-hour', 'caller_id', 'target_plugin_id'],
                'indexes': [models.Index(fields=['organization', '-hour'], name='gateway_stat_org_hour_idx')],
                'constraints': [models.UniqueConstraint(fields=('hour', 'caller', 'target_plugin_id'), name='gateway_call_stat_unique')],
            },
        ),
    ]
