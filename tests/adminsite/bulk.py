"""`n` rows of every kind the admin shows, in one organization, with bulk_create: for the query-count tests
(tests/adminsite) and the admin pages of the benchmark (bench/seed.py).

    rows = bulk_rows(organization, 1000)   # returns the first row of each kind, for object pages

Rows (gateway call statistics included) are made directly (not through the services): they are data to display, and services would take minutes
for 20,000 rows. Every kind refers to rows of the others, so each list shows its relations.
"""

import hashlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from connectors.integrations.models import IntegrationDefinition, IntegrationExecution, IntegrationInstance
from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from dependencies.models import PluginDependency
from gateway.models import GatewayCallStat
from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.delivery.models import PluginRelease
from plexica.access.models import AccessGrant
from plexica.events.models import Event, EventSequence
from plexica.plugins.models import LifecycleTransition, PermissionGrant, Plugin
from plexica.tenancy.models import ApiKey, Membership, Team, TeamMembership
from registry.models import PluginService, ServiceStatus, ServiceStatusTransition
from shareddata.models import SharedEntry
from webhooks.inbound.models import WebhookDelivery
from webhooks.outbound.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


def bulk_rows(organization, n, tag="bulk"):
    """Create `n` rows of each kind in `organization` (names start with `tag`); return {kind: first row}."""
    now = timezone.now()
    org = {"organization": organization}
    names = [f"{tag}-{i:05d}" for i in range(n)]
    plugins = Plugin.objects.bulk_create(
        Plugin(**org, plugin_id=f"plugin-{name}", name=f"Plugin {name}", version="1.0.0",
               lifecycle_state=("installed", "active", "disabled", "registered")[i % 4])
        for i, name in enumerate(names))
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"user-{name}", email=f"{name}@example.com") for name in names)
    memberships = Membership.objects.bulk_create(Membership(**org, user=user) for user in users)
    teams = Team.objects.bulk_create(Team(**org, slug=f"team-{name}", name=f"Team {name}") for name in names)
    TeamMembership.objects.bulk_create(TeamMembership(team=team, membership=membership)
                                       for team, membership in zip(teams, memberships))
    ApiKey.objects.bulk_create(
        ApiKey(**org, name=f"key {name}", prefix=f"plx_{i:05d}",
               key_hash=hashlib.sha256(f"{organization.pk}-{name}".encode()).hexdigest(),
               plugin=plugins[i] if i % 3 == 0 else None, membership=memberships[i] if i % 3 == 1 else None,
               expires_at=now + timedelta(days=i % 30))
        for i, name in enumerate(names))
    PermissionGrant.objects.bulk_create(PermissionGrant(**org, plugin=plugin, permission=f"crm:{i}:read")
                                        for i, plugin in enumerate(plugins))
    LifecycleTransition.objects.bulk_create(
        LifecycleTransition(**org, plugin=plugin, action="install", from_state="registered", to_state="installed",
                            version="1.0.0", actor="bulk", via="api", at=now - timedelta(minutes=i))
        for i, plugin in enumerate(plugins))
    services = PluginService.objects.bulk_create(
        PluginService(**org, plugin=plugin, service_name=f"{name}.svc", version="1.0.0",
                      base_url="http://127.0.0.1:9", status=(ServiceStatus.HEALTHY, ServiceStatus.DEGRADED, ServiceStatus.UNAVAILABLE)[i % 3],
                      last_seen_at=now - timedelta(seconds=i))
        for i, (plugin, name) in enumerate(zip(plugins, names)))
    ServiceStatusTransition.objects.bulk_create(
        ServiceStatusTransition(**org, service=service, from_status=ServiceStatus.HEALTHY, to_status=service.status,
                                at=now - timedelta(minutes=i), cause="sweep")
        for i, service in enumerate(services))
    PluginDependency.objects.bulk_create(
        PluginDependency(**org, plugin=plugins[i], depends_on_plugin_id=plugins[(i + 1) % n].plugin_id,
                         version="^1.0.0", required=i % 2 == 0)
        for i in range(n))
    objects = ConfigObject.objects.bulk_create(
        ConfigObject(**org, type="skill", title=f"Skill {name}", file_name=f"{name}.md") for name in names)
    versions = ConfigObjectVersion.objects.bulk_create(
        ConfigObjectVersion(config_object=obj, raw_source_text=f"# {obj.title}\n", sha256="0" * 64)
        for obj in objects)
    PluginConfigObject.objects.bulk_create(PluginConfigObject(**org, plugin=plugin, config_object=obj)
                                           for plugin, obj in zip(plugins, objects))
    marketplaces = Marketplace.objects.bulk_create(Marketplace(**org, name=f"Marketplace {name}") for name in names)
    MarketplacePlugin.objects.bulk_create(MarketplacePlugin(**org, marketplace=marketplace, plugin=plugin)
                                          for marketplace, plugin in zip(marketplaces, plugins))
    PluginRelease.objects.bulk_create(PluginRelease(**org, plugin=plugin, name=f"release {i}")
                                      for i, plugin in enumerate(plugins))
    AccessGrant.objects.bulk_create(
        AccessGrant(**org, resource_type="plugin", resource_id=plugin.pk, membership=membership,
                    subject_key=f"mem:{membership.pk}", role="viewer")
        for plugin, membership in zip(plugins, memberships))
    SharedEntry.objects.bulk_create(SharedEntry(**org, namespace=f"ns.{tag}", key=name, value={"i": i},
                                                owner=plugins[i]) for i, name in enumerate(names))
    accounts = ConnectorAccount.objects.bulk_create(
        ConnectorAccount(**org, installation_id=10_000_000 + i, account_login=name, display_name=name)
        for i, name in enumerate(names))
    instances = ConnectorInstance.objects.bulk_create(
        ConnectorInstance(**org, account=account, name=f"GitHub {account.account_login}") for account in accounts)
    targets = ConnectorTarget.objects.bulk_create(
        ConnectorTarget(**org, instance=instance, repository_id=20_000_000 + i,
                        repository_full_name=f"{tag}/repo-{i}", branch="main", ref="refs/heads/main")
        for i, instance in enumerate(instances))
    ConnectorMapping.objects.bulk_create(ConnectorMapping(**org, target=target, selector="skills/**/*.md",
                                                          object_type="skill", plugin=plugins[i])
                                         for i, target in enumerate(targets))
    SyncEvent.objects.bulk_create(
        SyncEvent(**org, target=target, event_type="push", head_sha=f"{i:040x}",
                  status=(SyncEvent.Status.COMPLETED, SyncEvent.Status.FAILED)[i % 2], error="" if i % 2 == 0 else "HTTP 502 from GitHub",
                  started_at=now - timedelta(hours=i % 72), finished_at=now - timedelta(hours=i % 72))
        for i, target in enumerate(targets))
    hour = now.replace(minute=0, second=0, microsecond=0)
    GatewayCallStat.objects.bulk_create(
        GatewayCallStat(**org, hour=hour - timedelta(hours=i % 24), caller=plugin, target_plugin_id="plugin-crm",
                        calls=10, errors=i % 3, duration_ms=10 * (8 + i % 20), ms_upto_5=2, ms_upto_10=3,
                        ms_upto_25=4, ms_upto_50=1) for i, plugin in enumerate(plugins))
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(provider="github", delivery_id=f"{tag}-{organization.pk}-{i}", event="push", body=b"{}",
                        body_sha256="0" * 64, status="processed") for i in range(n))
    EventSequence.objects.get_or_create(organization=organization)
    start = EventSequence.objects.get(organization=organization).last_position
    events = Event.objects.bulk_create(
        Event(**org, position=start + i + 1, type=("plugin.installed", "demo.thing.done")[i % 2],
              actor_type=("key", "member", "plugin", "system")[i % 4],
              actor_id=("key_x", "ada", "plugin-crm", "system")[i % 4], subject_type="plugin",
              subject_id=plugins[i].plugin_id, data={"i": i}, request_id=f"req-{tag}-{i}")
        for i in range(n))
    EventSequence.objects.filter(organization=organization).update(last_position=start + n)
    endpoints = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(**org, url=f"https://hooks.example.com/{tag}/{i}", description=f"Endpoint {name}",
                        event_types=["plugin.*"], secret="whsec_" + "A" * 43, enabled=i % 5 != 0,
                        disabled_reason="" if i % 5 else "failing")
        for i, name in enumerate(names))
    messages = WebhookMessage.objects.bulk_create(
        WebhookMessage(**org, endpoint=endpoints[i], event=event, position=event.position, event_type=event.type,
                       status=("succeeded", "failed", "pending")[i % 3], attempts=1 + i % 3,
                       last_status_code=(200, 500, None)[i % 3])
        for i, event in enumerate(events))
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(**org, message=message, endpoint_id=message.endpoint_id, number=1, url="https://hooks.example.com/",
                       status_code=message.last_status_code, outcome="succeeded" if i % 3 == 0 else "failed",
                       duration_ms=12)
        for i, message in enumerate(messages))
    methods = [{"name": "listThings", "description": "A page of things", "paramSchema": {"type": "object"},
                "resultSchema": {}, "rateLimits": {"requestsPerMinute": 60, "burstLimit": 10}, "timeoutMs": 5000,
                "request": {"method": "GET", "path": "/things"}, "idempotent": True}]
    integration_definitions = IntegrationDefinition.objects.bulk_create(
        IntegrationDefinition(**org, name=f"API {name}", version="1.0.0", methods=methods,
                              auth_type=("none", "api_key", "basic")[i % 3],
                              default_config={"baseUrl": "https://api.example.com"},
                              api_key_config={"in": "header", "name": "X-Api-Key"} if i % 3 == 1 else None,
                              status=("PUBLISHED", "DRAFT", "DEPRECATED", "ARCHIVED")[i % 4], published_at=now)
        for i, name in enumerate(names))
    integration_instances = IntegrationInstance.objects.bulk_create(
        IntegrationInstance(**org, definition=definition, name=f"Integration {name}",
                            status=("CONNECTED", "PENDING_AUTHENTICATION", "AUTH_ERROR")[i % 3],
                            status_reason="" if i % 3 != 2 else "The provider refused the refresh (invalid_grant).",
                            credentials={"apiKey": "bulk-secret"} if i % 3 == 0 else None,
                            last_used_at=now - timedelta(minutes=i), last_connected_at=now - timedelta(hours=i))
        for i, (definition, name) in enumerate(zip(integration_definitions, names)))
    integration_executions = IntegrationExecution.objects.bulk_create(
        IntegrationExecution(**org, instance=instance, method="listThings", status=("SUCCEEDED", "FAILED")[i % 2],
                             outcome=("SUCCESS", "INTEGRATION_ERROR")[i % 2], http_status=(200, 502)[i % 2],
                             message="" if i % 2 == 0 else "The provider answered 500 to listThings.",
                             details=None if i % 2 == 0 else {"statusCode": 500, "response": {"error": "boom"}},
                             attempts=1 + i % 3, duration_ms=20 + i % 100, actor_type="member", actor_id="ada",
                             request_id=f"req-{tag}-{i}", deadline=now + timedelta(seconds=5), finished_at=now)
        for i, instance in enumerate(integration_instances))
    return {
        "plugin": plugins[0], "membership": memberships[0], "team": teams[0], "service": services[0],
        "config_object": objects[0], "version": versions[0], "marketplace": marketplaces[0],
        "target": targets[0], "instance": instances[0], "account": accounts[0],
        "event": events[0], "webhook_endpoint": endpoints[0], "webhook_message": messages[0],
        "integration_definition": integration_definitions[0], "integration_instance": integration_instances[0],
        "integration_execution": integration_executions[0],
    }
