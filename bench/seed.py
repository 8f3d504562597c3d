"""Seed the benchmark's data (idempotent) and print it as JSON on the last line of stdout.

Run by bench/run.py with the benchmark's settings in the environment (DATABASE_URL, REDIS_URL, ...):

    python bench/seed.py --upstream-url http://127.0.0.1:3100

Everything an operation needs (ids, tokens) goes into the printed context; operations use it as
`{name}` placeholders. Tokens are reissued on every run (only their hashes are stored).
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402

from gateway.breaker import Breaker  # noqa: E402
from plexica.plugins.services import ensure_plugin, grant_permission  # noqa: E402
from plexica.tenancy.services import ensure_organization, reissue_api_key  # noqa: E402
from registry.services import Registration, register_service  # noqa: E402

ORG = "bench-org"
CONTACTS_READ = "crm:contacts:read"


def seed(upstream_url):
    organization, _, _ = ensure_organization(ORG, "Benchmark org")
    crm, _ = ensure_plugin(organization, "plugin-crm")
    analytics, _ = ensure_plugin(organization, "plugin-analytics")
    grant_permission(analytics, CONTACTS_READ)
    keys = {}
    for short, plugin in (("crm", crm), ("analytics", analytics)):
        _, token, _ = reissue_api_key(organization, name=f"bench {plugin.plugin_id}", plugin=plugin)
        keys[short] = token
    service, _ = register_service(
        organization,
        Registration(
            plugin_id="plugin-crm",
            service_name="crm.contacts",
            version="1.0.0",
            base_url=upstream_url,
            endpoints=[
                {"method": "GET", "path": "/contacts", "description": "List contacts",
                 "permissions": [CONTACTS_READ], "metadata": {}},
                {"method": "GET", "path": "/contacts/:id", "description": "Get a contact",
                 "permissions": [], "metadata": {}},
            ],
            metadata={"description": "Benchmark CRM contacts"},
        ),
    )
    # A breaker opened by an earlier run (say, the upstream was down) must not answer 503 in this one.
    breaker = Breaker(service.pk)
    cache.delete_many([breaker.failures_key, breaker.opened_key, breaker.trial_key])
    return {
        "org": ORG,
        "org_id": str(organization.pk),
        "service_id": service.pk,
        "service_name": service.service_name,
        "upstream_url": upstream_url,
        "crm_key": keys["crm"],
        "analytics_key": keys["analytics"],
        "facts": backend_facts(),
    }


def backend_facts():
    facts = {"database": connection.vendor, "database_version": None, "cache": cache.__class__.__name__,
             "cache_version": None}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["database_version"] = cursor.fetchone()[0]
    elif connection.vendor == "sqlite":
        import sqlite3

        facts["database_version"] = sqlite3.sqlite_version
    try:
        from django_redis import get_redis_connection

        facts["cache"] = "redis"
        facts["cache_version"] = get_redis_connection("default").info()["redis_version"]
    except (ImportError, NotImplementedError):
        pass
    return facts


def main(argv=None):
    parser = argparse.ArgumentParser(description="Seed the benchmark data.")
    parser.add_argument("--upstream-url", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(seed(args.upstream_url)), flush=True)


if __name__ == "__main__":
    main()
