"""A GIN index for the full-text `q` filter of config objects, on PostgreSQL only.

The indexed expression is exactly the one marketplaces.config_objects.filtersets.search_document() compiles
to (same text search configuration, weights and columns); PostgreSQL uses an expression index only for an
equal expression.
Other databases have no tsvector: their fallback filter scans, so there is nothing to create there.
"""

from django.db import migrations

INDEX_NAME = "cfo_search_fts_idx"
DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(\"title\", '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, COALESCE(\"description\", '')), 'B'))"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{INDEX_NAME}" ON "marketplaces_configobject" USING gin ({DOCUMENT})'
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX_NAME}"')


class Migration(migrations.Migration):

    dependencies = [
        ("marketplaces", "0003_access_grants_releases_client_state"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
