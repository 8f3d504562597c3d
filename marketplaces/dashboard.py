"""The config objects' dashboard widget: the latest versions made, whoever or whatever made them."""

from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from plexica.adminsite.dashboard import ago, person, register_widget
from plexica.tenancy.admin import admin_url

VERSIONS_SHOWN = 8


def recent_config_versions(request, scope):
    versions = list(
        scope.filter(ConfigObjectVersion.objects.filter(config_object__deleted_at__isnull=True),
                     lookup="config_object__organization")
        .select_related("config_object__organization", "created_by")
        # Not the payloads: they are encrypted, and decrypting them is not needed to list them.
        .only("pk", "created_at", "created_via", "reason", "source_revision", "config_object__id",
              "config_object__title", "config_object__type", "config_object__organization__name",
              "created_by__username", "created_by__first_name", "created_by__last_name")
        .order_by("-created_at", "-pk")[:VERSIONS_SHOWN]
    )
    return {
        "rows": [
            {"version": version, "object": version.config_object, "by": _made_by(version),
             "ago": ago(version.created_at),
             "type": ConfigObject.Type(version.config_object.type).label if version.config_object.type
             in ConfigObject.Type.values else version.config_object.type,
             "url": admin_url("marketplaces_configobject_change", version.config_object_id)}
            for version in versions
        ],
        "show_organization": scope.organization is None,
        "add_url": admin_url("marketplaces_configobject_add"),
        "all_url": admin_url("marketplaces_configobject_changelist"),
    }


def _made_by(version):
    if version.created_by_id:
        return person(version.created_by)
    if version.created_via == ConfigObjectVersion.CreatedVia.CONNECTOR:
        revision = version.source_revision[:10]
        return f"connector sync{f' ({revision})' if revision else ''}"
    return version.get_created_via_display()


def register():
    register_widget("config_versions", "Recent config object versions", recent_config_versions,
                    "admin/dashboard/config_versions.html", order=80, width=2)
