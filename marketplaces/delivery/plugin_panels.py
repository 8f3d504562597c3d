"""What delivery adds to the plugin's page (plexica.plugins.admin_extensions), from MarketplacesConfig.ready():
the releases tab, with a form to cut a release and pin / unpin buttons that call the release services as the
admin user. A pinned release
is what delivery serves instead of the rolling latest (marketplaces.delivery.releases)."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from marketplaces.delivery import releases
from marketplaces.delivery.models import PluginRelease
from plexica.adminsite.badges import badge
from plexica.errors import DomainError
from plexica.plugins.admin import PANEL_ROWS, more_link, plugin_page_url, post_button, table, when
from plexica.tenancy.admin import admin_principal, admin_url


@admin.display(description="Releases")
def plugin_releases(request, plugin):
    """The plugin's releases, newest first, the pinned one marked, each with its pin or unpin button."""
    listed = releases.list_releases(admin_principal(request, plugin.organization), plugin.plugin_id)
    shown = list(listed[:PANEL_ROWS])
    total = listed.count()
    pinned = next((r for r in shown if r.pinned_at), None) or releases.pinned_release(plugin)
    pin_url, unpin_url = admin_url("plugins_plugin_release_pin", plugin.pk), admin_url("plugins_plugin_release_unpin",
                                                                                        plugin.pk)
    rows = [
        (format_html('<a href="{}">{}</a>', admin_url("marketplaces_pluginrelease_change", r.pk), r),
         badge("Pinned", "green") if r.pinned_at else "", r.item_count, r.created_by or "-", when(r.created_at),
         post_button(unpin_url, "Unpin", css_id=f"release-unpin-{r.pk}") if r.pinned_at else
         post_button(pin_url, "Pin", name="release", value=r.pk, css_id=f"release-pin-{r.pk}"))
        for r in shown
    ]
    serving = (format_html('Delivery serves the pinned release <strong>{}</strong> (since {}).', pinned,
                           when(pinned.pinned_at)) if pinned else
               "Delivery serves the rolling latest version of each config object (no release is pinned).")
    return format_html('<p id="plugin-delivery-serves">{}</p>{}{}{}', serving,
                       table(["release", "", "items", "made by", "made", ""], rows,
                             "No releases yet: cut one below (a snapshot of the latest versions).",
                             "plugin-releases"),
                       more_link(len(shown), total, admin_url("marketplaces_pluginrelease_changelist",
                                                              query={"plugin": plugin.pk}), "releases"),
                       _create_form(plugin))


def _create_form(plugin):
    """Name, notes and "pin it" for a new release, posted with the page's form to the create view."""
    return format_html(
        '<div id="release-create" class="plexica-release-create"><h3>Cut a release</h3>'
        '<p class="plexica-subtle">Snapshots the latest version of each of the plugin\'s config objects; the '
        'snapshot never changes.</p>'
        '<p><label for="release-name">Name</label> <input type="text" id="release-name" name="release_name" '
        'maxlength="{}" placeholder="2026.12 or 1.4.0"></p>'
        '<p><label for="release-notes">Notes</label> <input type="text" id="release-notes" name="release_notes" '
        'size="60"></p>'
        '<p><label><input type="checkbox" id="release-pin" name="release_pin" value="1"> Pin it: delivery '
        'serves this release instead of the latest versions</label></p>{}</div>',
        RELEASE_NAME_MAX, post_button(admin_url("plugins_plugin_release_create", plugin.pk), "Cut release",
                                      tone="primary", css_id="release-create-button"))


RELEASE_NAME_MAX = PluginRelease._meta.get_field("name").max_length


def create_view(model_admin, request, plugin):
    """POST release_name, release_notes, release_pin: a new release, as POST .../releases makes for the API."""
    name = request.POST.get("release_name", "").strip()
    notes = request.POST.get("release_notes", "").strip()
    if len(name) > RELEASE_NAME_MAX:
        model_admin.message_user(request, f"A release name has at most {RELEASE_NAME_MAX} characters.",
                                 messages.ERROR)
        return HttpResponseRedirect(plugin_page_url(plugin, "releases"))
    try:
        release = releases.create_release(admin_principal(request, plugin.organization), plugin.plugin_id,
                                          name=name, notes=notes, pin=request.POST.get("release_pin") == "1")
    except DomainError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
    else:
        pinned = ", pinned: delivery serves it" if release.pinned_at else ""
        count = len(release.served_items)
        model_admin.message_user(request, f"Made release {release} of {plugin} with {count} "
                                          f"item{'s' if count != 1 else ''}{pinned}.", messages.SUCCESS)
    return HttpResponseRedirect(plugin_page_url(plugin, "releases"))


def pin_view(model_admin, request, plugin):
    """POST release=<rel_...>: pin it (unpinning any other), as the release service does for the API."""
    try:
        before = releases.pinned_release(plugin)
        release = releases.pin_release(admin_principal(request, plugin.organization), plugin.plugin_id,
                                       request.POST.get("release", ""))
    except DomainError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
    else:
        note = f" (unpinned {before})" if before is not None and before.pk != release.pk else ""
        model_admin.message_user(request, f"Pinned {release} for {plugin}{note}: delivery serves it.",
                                 messages.SUCCESS)
    return HttpResponseRedirect(plugin_page_url(plugin, "releases"))


def unpin_view(model_admin, request, plugin):
    """POST: unpin whichever release is pinned; delivery serves the latest again."""
    try:
        release = releases.unpin_release(admin_principal(request, plugin.organization), plugin.plugin_id)
    except DomainError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
    else:
        if release is None:
            model_admin.message_user(request, f"No release of {plugin} was pinned.", messages.INFO)
        else:
            model_admin.message_user(request, f"Unpinned {release}: delivery serves the latest again.",
                                     messages.SUCCESS)
    return HttpResponseRedirect(plugin_page_url(plugin, "releases"))


def delete_check(plugin):
    count = PluginRelease.objects.filter(plugin=plugin).count()
    return [f"it has {count} release{'s' if count != 1 else ''} that clients may have installed"] if count else []


def register():
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_tab("releases", "Releases", order=50)
    plugin_admin.register_plugin_panel("releases", plugin_releases, order=100, tab="releases")
    plugin_admin.register_plugin_view("release_create", create_view)
    plugin_admin.register_plugin_view("release_pin", pin_view)
    plugin_admin.register_plugin_view("release_unpin", unpin_view)
    plugin_admin.register_plugin_delete_check(delete_check, order=300)
