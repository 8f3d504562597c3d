"""The core's abstract bases and status-transition helper."""

import pytest

from plexica.access.models import AccessGrant
from plexica.errors import Conflict
from plexica.models import OrganizationScoped, SoftDeleted, SoftMembership, Timestamped
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Organization
from plexica.transitions import require_transition, transition


def test_models_built_on_the_bases_have_their_fields():
    assert issubclass(AccessGrant, OrganizationScoped) and issubclass(AccessGrant, Timestamped)
    names = {field.name for field in AccessGrant._meta.get_fields()}
    assert {"organization", "created_at", "updated_at", "created_by"} <= names


def test_soft_deleted_and_soft_membership_say_whether_a_row_is_live():
    class Row(SoftDeleted, SoftMembership):
        class Meta:
            abstract = True

    row = Row.__new__(Row)
    row.deleted_at, row.removed_at = None, None
    assert not row.is_deleted and row.is_active
    row.deleted_at, row.removed_at = "then", "then"
    assert row.is_deleted and not row.is_active


def test_a_refused_transition_names_the_row_and_both_states():
    with pytest.raises(Conflict) as refused:
        require_transition("Plugin plugin-crm", "archived", "archived", {"active"}, title="Invalid change",
                           catalogStatus="archived")
    assert refused.value.message == "Plugin plugin-crm is archived; it cannot become archived."
    assert refused.value.title == "Invalid change"
    assert refused.value.extra == {"catalogStatus": "archived"}


@pytest.mark.django_db
def test_transition_changes_the_field_and_saves_only_what_changed():
    org = Organization.objects.create(slug="moving", name="Moving")
    plugin = Plugin.objects.create(organization=org, plugin_id="plugin-crm", name="CRM", version="1.0.0")
    transition(plugin, "archived", {"active"}, what="Plugin plugin-crm", field="catalog_status",
               detail="catalogStatus", touch=None)
    plugin.refresh_from_db()
    assert plugin.catalog_status == "archived"
    with pytest.raises(Conflict) as refused:
        transition(plugin, "archived", {"active"}, what="Plugin plugin-crm", field="catalog_status",
                   detail="catalogStatus", touch=None)
    assert refused.value.extra == {"catalogStatus": "archived"}
