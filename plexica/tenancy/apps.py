from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "plexica.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
