"""The admin site: the product's main UI for org admins.

`site.PlexicaAdminSite` is the one admin site (on the unfold theme): its index is the organization's dashboard,
it has global search and the organization switcher, and members who are not staff get their own page. Feature
apps contribute dashboard widgets (`dashboard.register_widget`) and member-page panels
(`members.register_member_panel`) from their AppConfig.ready(); the sidebar and the searched models are
tables in settings (`PLEXICA_ADMIN_SIDEBAR`, `PLEXICA_ADMIN_SEARCH`).
"""
