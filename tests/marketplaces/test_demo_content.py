import re

import pytest
from django.core.management import CommandError, call_command

from marketplaces.catalog.models import Marketplace
from marketplaces.config_objects.models import ConfigObject
from plexica.access.models import AccessGrant


def _run(command, **options):
    from io import StringIO

    out = StringIO()
    call_command(command, stdout=out, **options)
    return out.getvalue()


def test_demo_content_lets_the_demo_member_see_the_marketplace_and_is_idempotent(db, api):
    seeded = _run("seed_demo")  # runs seed_demo_content too
    again = _run("seed_demo_content")
    assert ConfigObject.objects.count() == 3 and Marketplace.objects.count() == 1
    assert AccessGrant.objects.filter(org_wide=True, role="viewer").count() == 1
    assert "already there" in again and "PLEXICA_DEMO_MEMBER_KEY" not in again
    token = re.search(r"^PLEXICA_DEMO_MEMBER_KEY=(\S+)$", seeded, re.MULTILINE).group(1)
    member = api(token)
    titles = sorted(item["title"] for item in member.get("/api/v1/config-objects").json()["items"])
    assert titles == ["Log a call", "Summarize a deal", "Weekly report writer"]
    assert [p["id"] for p in member.get("/api/v1/plugins").json()["items"]] == ["plugin-analytics", "plugin-crm"]


def test_demo_content_needs_the_demo_organization(db):
    with pytest.raises(CommandError, match="run `manage.py seed_demo` first"):
        _run("seed_demo_content")
