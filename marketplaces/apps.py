from django.apps import AppConfig


class MarketplacesConfig(AppConfig):
    name = "marketplaces"
    verbose_name = "Config objects and marketplaces"

    def ready(self):
        from marketplaces import events, sharing

        sharing.register()
        events.register()
        from marketplaces.delivery import member_panels

        member_panels.register()
        from marketplaces import dashboard

        dashboard.register()
        from marketplaces.catalog import plugin_panels

        plugin_panels.register()
        from marketplaces.delivery import plugin_panels as release_panels

        release_panels.register()
        from marketplaces import tools

        tools.register()
