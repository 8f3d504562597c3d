from django.contrib.admin.apps import AdminConfig


class PlexicaAdminConfig(AdminConfig):
    """django.contrib.admin, with PlexicaAdminSite as `admin.site`."""

    default_site = "plexica.adminsite.site.PlexicaAdminSite"
