"""Moving access grants from the marketplaces app to the access app keeps every row and the content type."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("marketplaces", "0004_config_object_search_index")
AFTER = ("marketplaces", "0005_access_grants_move_to_access")


def _migrate(target, unapply=None):
    """Migrate to `target` (unapplying `unapply` first); the app registry of that state."""
    executor = MigrationExecutor(connection)
    if unapply:
        executor.migrate([unapply])
        executor.loader.build_graph()
    executor.migrate([target])
    executor.loader.build_graph()
    leaves = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in ("access", "marketplaces")]
    return executor.loader.project_state([*leaves, target]).apps


def _migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_grants_made_before_the_move_are_the_access_apps_afterwards():
    old = _migrate(BEFORE, unapply=("access", None))
    Organization = old.get_model("tenancy", "Organization")
    ContentType = old.get_model("contenttypes", "ContentType")
    org = Organization.objects.create(slug="moving-co", name="Moving Co")
    old.get_model("marketplaces", "AccessGrant").objects.create(
        id="grt_before0move0000000001", organization=org, resource_type="marketplace", resource_id="mkt_x",
        org_wide=True, subject_key="org", role="viewer")
    content_type, _ = ContentType.objects.get_or_create(app_label="marketplaces", model="accessgrant")
    try:
        new = _migrate(AFTER)
        grant = new.get_model("access", "AccessGrant").objects.get(pk="grt_before0move0000000001")
        assert (grant.resource_type, grant.resource_id, grant.role) == ("marketplace", "mkt_x", "viewer")
        moved = new.get_model("contenttypes", "ContentType").objects.get(pk=content_type.pk)
        assert (moved.app_label, moved.model) == ("access", "accessgrant")
    finally:
        _migrate_to_latest()  # every later migration too: the tests after this one need today's schema
        from plexica.access.models import AccessGrant

        AccessGrant.objects.filter(organization__slug="moving-co").delete()
        Organization.objects.filter(slug="moving-co").delete()
