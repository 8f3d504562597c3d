"""What the registry adds to /metrics (plexica.observability): plexica_services{organization,status}, the
services of each organization by health now, computed at scrape time in one grouped query."""

from prometheus_client.core import GaugeMetricFamily

from registry.services import services_by_status


def services_gauge():
    family = GaugeMetricFamily("plexica_services", "Registered services by health now (from the last heartbeat).",
                               labels=["organization", "status"])
    for (organization, status), count in sorted(services_by_status().items()):
        family.add_metric([organization, status.lower()], count)
    return [family]


def register():
    from plexica.observability.metrics import register_scrape_collector

    register_scrape_collector("registry_services", services_gauge)
