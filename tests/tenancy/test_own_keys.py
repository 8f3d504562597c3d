"""A person's own API keys (the members' page): whoever is signed in as themselves lists, issues and revokes the
keys that act as them, and nobody else's; keys (even a member's) and callers without a membership may not."""

import pytest

from plexica.errors import Forbidden, NotFound
from plexica.tenancy import services
from plexica.tenancy.models import ApiKey
from tests.principals import CALLERS, acting_as

SIGNED_IN_PEOPLE = frozenset({"member", "org admin"})


@pytest.mark.parametrize("kind", CALLERS)
def test_only_people_signed_in_as_themselves_manage_their_own_keys(org, crm_plugin, kind):
    principal = acting_as(kind, org, plugin=crm_plugin)
    if kind in SIGNED_IN_PEOPLE:
        key, token = services.create_own_api_key(principal, name="laptop", scopes=["api:read"])
        assert key.membership == principal.membership and key.created_by == principal.user
        assert services.find_api_key(token) == key
        assert list(services.list_own_api_keys(principal)) == [key]
        assert services.revoke_own_api_key(principal, key.pk).revoked_at is not None
        assert services.find_api_key(token) is None
    else:
        before = ApiKey.objects.count()
        for call in (lambda: services.create_own_api_key(principal, name="laptop"),
                     lambda: services.list_own_api_keys(principal)):
            with pytest.raises(Forbidden) as refused:
                call()
            assert refused.value.code == "org_capability_required"
        assert ApiKey.objects.count() == before


def test_nobody_revokes_or_lists_someone_elses_key(org, other_org, member, org_admin, crm_plugin):
    principal = acting_as("member", org)
    theirs, token = services.issue_api_key(org, name="ada's", membership=org_admin)
    plugin_key, _ = services.issue_api_key(org, name="crm", plugin=crm_plugin)
    foreign, _ = services.issue_api_key(other_org, name="globex")
    for key in (theirs, plugin_key, foreign):
        with pytest.raises(NotFound):
            services.revoke_own_api_key(principal, key.pk)
    assert not services.list_own_api_keys(principal).exists()
    assert services.find_api_key(token) == theirs
