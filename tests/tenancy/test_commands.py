"""The management commands: their effects and their printed contract (scripts parse the output)."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey, Membership, Organization, Team, TeamMembership
from plexica.tenancy.services import hash_token

pytestmark = pytest.mark.django_db

User = get_user_model()


def run(*args, **options):
    """Run a command; return its stdout."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def last_line(output):
    return output.rstrip("\n").splitlines()[-1]


# createorg


def test_createorg_creates_the_organization_once_and_reports_it_exists_on_a_second_run():
    first = run("createorg", "initech", "--name", "Initech")
    second = run("createorg", "initech")

    assert "Created organization initech" in first
    assert "already exists" in second
    assert Organization.objects.filter(slug="initech").count() == 1
    assert Organization.objects.get(slug="initech").name == "Initech"


def test_createorg_renames_an_existing_organization_only_when_a_name_is_given():
    run("createorg", "initech", "--name", "Initech")
    run("createorg", "initech")
    assert Organization.objects.get(slug="initech").name == "Initech"

    output = run("createorg", "initech", "--name", "Initech Inc")
    assert "renamed" in output
    assert Organization.objects.get(slug="initech").name == "Initech Inc"


def test_createorg_rejects_an_invalid_slug_naming_it_and_creates_nothing():
    with pytest.raises(CommandError, match="'Bad_Slug!'"):
        run("createorg", "Bad_Slug!")
    assert not Organization.objects.exists()


# createapikey


def test_createapikey_prints_the_token_last_and_stores_only_its_hash(org):
    output = run("createapikey", "acme-corp")

    token = last_line(output)
    assert re.fullmatch(r"plx_[A-Za-z0-9_-]{40,}", token)
    key = ApiKey.objects.get()
    assert key.key_hash == hash_token(token)
    assert key.prefix == token[: len(key.prefix)]
    assert key.name == "cli key for acme-corp"
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert token not in [str(value) for value in stored.values()]


def test_a_printed_org_token_authenticates_as_the_organization(org, api):
    token = last_line(run("createapikey", "acme-corp"))

    response = api(token).get("/api/v1/me")

    assert response.status_code == 200
    principal = response.json()["item"]["principal"]
    assert principal["kind"] == "organization"
    assert principal["isOrgAdmin"] is True


def test_createapikey_with_plugin_registers_a_missing_plugin_and_the_token_acts_as_it(org, api):
    output = run("createapikey", "acme-corp", "--plugin", "plugin-crm")

    plugin = Plugin.objects.get(organization=org, plugin_id="plugin-crm")
    assert plugin.lifecycle_state == Plugin.LifecycleState.REGISTERED
    assert plugin.name == "crm"
    assert "Registered plugin plugin-crm" in output
    key = ApiKey.objects.get()
    assert key.plugin == plugin
    assert key.name == "cli key for plugin-crm"
    response = api(last_line(output)).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["item"]["principal"]["kind"] == "plugin"
    assert response.json()["item"]["principal"]["pluginId"] == "plugin-crm"


def test_createapikey_reuses_an_existing_plugin_unchanged(org, crm_plugin):
    output = run("createapikey", "acme-corp", "--plugin", "plugin-crm", "--name", "crm prod")

    assert Plugin.objects.count() == 1
    assert Plugin.objects.get().name == "CRM"
    assert "Registered plugin" not in output
    assert ApiKey.objects.get().name == "crm prod"


def test_createapikey_rejects_a_plugin_id_without_the_plugin_prefix(org):
    with pytest.raises(CommandError, match="'crm'"):
        run("createapikey", "acme-corp", "--plugin", "crm")
    assert not Plugin.objects.exists()
    assert not ApiKey.objects.exists()


def test_createapikey_with_member_binds_the_key_to_that_membership(org, member, api):
    output = run("createapikey", "acme-corp", "--member", "mia", "--scope", "api:read")

    key = ApiKey.objects.get()
    assert key.membership == member
    assert key.scopes == ["api:read"]
    principal = api(last_line(output)).get("/api/v1/me").json()["item"]["principal"]
    assert principal["kind"] == "member"
    assert principal["username"] == "mia"


def test_createapikey_fails_for_a_user_who_is_not_a_member(org, other_org):
    run("createmember", "globex", "gil")
    with pytest.raises(CommandError, match="'gil' is not a member of acme-corp"):
        run("createapikey", "acme-corp", "--member", "gil")
    assert not ApiKey.objects.exists()


def test_createapikey_refuses_plugin_and_member_together(org, member):
    with pytest.raises(CommandError, match="--member: not allowed with argument --plugin"):
        run("createapikey", "acme-corp", "--plugin", "plugin-crm", "--member", "mia")
    with pytest.raises(CommandError, match="--plugin or --member, not both"):
        run("createapikey", "acme-corp", plugin="plugin-crm", member="mia")
    assert not ApiKey.objects.exists()
    assert not Plugin.objects.exists()


def test_createapikey_fails_for_an_unknown_organization_naming_it(db):
    with pytest.raises(CommandError, match="'nope-org'"):
        run("createapikey", "nope-org")
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("days", ["36501", "3000000", "99999999999"])
def test_createapikey_refuses_an_expiry_beyond_the_cap_without_a_traceback(org, days):
    # timedelta or the date past year 9999 raised OverflowError.
    with pytest.raises(CommandError, match="1 to 36500"):
        run("createapikey", "acme-corp", "--expires-in-days", days)
    assert not ApiKey.objects.exists()


def test_createapikey_sets_an_expiry_in_days(org):
    output = run("createapikey", "acme-corp", "--expires-in-days", "30")

    key = ApiKey.objects.get()
    assert key.expires_at is not None
    assert 29 <= (key.expires_at - key.created_at).days <= 30
    assert "expires: never" not in output


# createmember


def test_createmember_creates_a_user_with_an_unusable_password_as_a_plain_member(org):
    output = run("createmember", "acme-corp", "bob", "--email", "bob@example.com")

    user = User.objects.get(username="bob")
    assert not user.has_usable_password()
    assert user.email == "bob@example.com"
    assert not user.is_staff
    assert Membership.objects.get(organization=org, user=user).role == Membership.Role.MEMBER
    assert "Created user bob" in output
    assert "Added bob to acme-corp as member" in output


def test_createmember_with_password_lets_the_new_user_log_in(org):
    run("createmember", "acme-corp", "bob", "--password", "s3cret-pass")

    assert User.objects.get(username="bob").check_password("s3cret-pass")


def test_createmember_makes_an_owner_staff_and_says_so(org):
    output = run("createmember", "acme-corp", "olga", "--role", "owner")

    user = User.objects.get(username="olga")
    assert user.is_staff
    assert not user.is_superuser
    assert Membership.objects.get(organization=org, user=user).role == Membership.Role.OWNER
    assert "Made olga staff" in output


def test_createmember_changes_the_role_of_an_existing_member(org, member):
    output = run("createmember", "acme-corp", "mia", "--role", "admin")

    member.refresh_from_db()
    assert member.role == Membership.Role.ADMIN
    assert member.user.is_staff
    assert "member -> admin" in output
    assert member.user.check_password("correct-horse-battery")  # the existing password is untouched


def test_createmember_creates_the_team_and_adds_the_member(org):
    output = run("createmember", "acme-corp", "bob", "--team", "platform")

    team = Team.objects.get(organization=org, slug="platform")
    assert list(team.members.values_list("user__username", flat=True)) == ["bob"]
    assert "Added bob to team platform" in output


def test_createmember_is_idempotent(org):
    run("createmember", "acme-corp", "bob", "--role", "admin", "--team", "platform")
    output = run("createmember", "acme-corp", "bob", "--role", "admin", "--team", "platform")

    assert User.objects.filter(username="bob").count() == 1
    assert Membership.objects.count() == 1
    assert Team.objects.count() == 1
    assert TeamMembership.objects.count() == 1
    assert "already exists" in output
    assert "already admin of acme-corp" in output


def test_createmember_with_an_invalid_team_slug_creates_nothing(org):
    with pytest.raises(CommandError, match="'Bad Team'"):
        run("createmember", "acme-corp", "bob", "--team", "Bad Team")
    assert not User.objects.filter(username="bob").exists()
    assert not Membership.objects.exists()


def test_createmember_fails_for_an_unknown_organization(db):
    with pytest.raises(CommandError, match="'nope-org'"):
        run("createmember", "nope-org", "bob")
    assert not User.objects.exists()


# seed_demo


def demo_counts():
    models = [Organization, Plugin, User, Membership, Team, TeamMembership, ApiKey]
    return {model.__name__: model.objects.count() for model in models}


def printed(name, output):
    match = re.search(rf"^{name}=(plx_\S+)$", output, re.MULTILINE)
    assert match, f"no {name}= line in:\n{output}"
    return match.group(1)


def test_seed_demo_creates_the_demo_organization_plugins_admin_and_keys(api):
    output = run("seed_demo")

    org = Organization.objects.get(slug="acme-corp")
    assert org.name == "Acme Corp"
    versions = dict(Plugin.objects.filter(organization=org).values_list("plugin_id", "version"))
    assert versions == {"plugin-crm": "1.4.0", "plugin-analytics": "2.1.0", "plugin-marketing": "0.9.0"}
    admin = User.objects.get(username="admin")
    assert admin.check_password("admin") and admin.is_staff and not admin.is_superuser
    assert Membership.objects.get(organization=org, user=admin).role == Membership.Role.OWNER
    assert Team.objects.get(organization=org, slug="platform").members.get().user == admin
    assert ApiKey.objects.filter(organization=org).count() == 5  # org, three plugins, mia
    assert Membership.objects.get(organization=org, user__username="mia").role == Membership.Role.MEMBER
    assert "http://127.0.0.1:8000/admin/" in output

    crm_token = printed("PLEXICA_DEMO_KEY_PLUGIN_CRM", output)
    assert api(crm_token).get("/api/v1/me").json()["item"]["principal"]["pluginId"] == "plugin-crm"
    for name in ("PLEXICA_DEMO_KEY_PLUGIN_ANALYTICS", "PLEXICA_DEMO_KEY_PLUGIN_MARKETING"):
        assert api(printed(name, output)).get("/api/v1/me").status_code == 200


def test_seed_demo_prints_a_ready_to_paste_curl_line_with_the_org_token():
    output = run("seed_demo")

    org_token = printed("PLEXICA_DEMO_ORG_KEY", output)
    curl = (
        f'curl -H "X-Tenant-Slug: acme-corp" -H "Authorization: Bearer {org_token}" '
        "http://127.0.0.1:8000/api/v1/me"
    )
    assert curl in output.splitlines()


def test_seed_demo_twice_keeps_row_counts_and_rotates_the_printed_tokens(api):
    first = run("seed_demo")
    counts = demo_counts()
    second = run("seed_demo")

    assert demo_counts() == counts
    old_token, new_token = printed("PLEXICA_DEMO_ORG_KEY", first), printed("PLEXICA_DEMO_ORG_KEY", second)
    assert old_token != new_token
    response = api(new_token).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["item"]["principal"]["kind"] == "organization"
    assert api(old_token).get("/api/v1/me").status_code == 401
    assert api(printed("PLEXICA_DEMO_KEY_PLUGIN_CRM", second)).get("/api/v1/me").status_code == 200
    assert api(printed("PLEXICA_DEMO_KEY_PLUGIN_CRM", first)).get("/api/v1/me").status_code == 401


def test_seed_demo_leaves_a_changed_admin_password_alone_and_says_so():
    run("seed_demo")
    admin = User.objects.get(username="admin")
    admin.set_password("changed-by-the-user")
    admin.save()

    output = run("seed_demo")

    admin.refresh_from_db()
    assert admin.check_password("changed-by-the-user")
    assert "password of admin: unchanged" in output
