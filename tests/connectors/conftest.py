"""Fixtures for the GitHub connector tests.

- `github_app_keys`  (session) an RSA key pair for the test GitHub App: `.private_pem`, `.public_pem`.
- `github_server`    (session) the stub GitHub REST server on 127.0.0.1 (tests/connectors/github_stub.py).
- `github_app`       settings pointing at the stub: GITHUB_API_URL, GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY,
                     GITHUB_WEBHOOK_SECRET; `.sign(body) -> "sha256=..."` signs a webhook body like GitHub.
- `github`           the stub, reset for this test (and `github_app` applied): `github.repository(...)`
                     creates a repository, `repo.commit({path: text})` / `repo.update({path: text|None})` move
                     its branch, `github.fail(endpoint, status, ...)`, `github.slow(...)`, `github.requests`.
- `github_target`    factory: github_target(repo, mappings=[("skills/**", "skill")], ...) -> a ConnectorTarget
                     of `org` with account (the repo's installation, which belongs to one organization),
                     instance and mappings; a mapping may name a plugin as third item (auto-added).
- `system`           the principal the sync acts as for `org`: Principal.system(org).
- `eager_tasks`      enqueued Celery tasks run in-process even when REDIS_URL names a broker (pair it with
                     django_capture_on_commit_callbacks(execute=True) to run what a commit would send).
"""

import hashlib
import hmac
from dataclasses import dataclass

import pytest

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorMapping, ConnectorTarget
from plexica.celery import app as celery_app
from plexica.tenancy.principal import Principal
from tests.connectors.github_stub import generate_app_keys, start_stub

GITHUB_APP_ID = "98765"
GITHUB_WEBHOOK_SECRET = "test-webhook-secret"


@pytest.fixture(scope="session")
def github_app_keys():
    return generate_app_keys()


@pytest.fixture(scope="session")
def github_server(github_app_keys):
    stub = start_stub(GITHUB_APP_ID, github_app_keys.public_pem)
    yield stub
    stub.stop()


@dataclass(frozen=True)
class GitHubApp:
    app_id: str
    private_pem: str
    public_pem: str
    webhook_secret: str
    api_url: str

    def sign(self, body, secret=None):
        """The X-Hub-Signature-256 header GitHub sends for `body` (bytes)."""
        key = (secret if secret is not None else self.webhook_secret).encode()
        return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


@pytest.fixture
def github_app(settings, github_server, github_app_keys):
    settings.GITHUB_API_URL = github_server.url
    settings.GITHUB_APP_ID = GITHUB_APP_ID
    settings.GITHUB_APP_PRIVATE_KEY = github_app_keys.private_pem
    settings.GITHUB_WEBHOOK_SECRET = GITHUB_WEBHOOK_SECRET
    return GitHubApp(GITHUB_APP_ID, github_app_keys.private_pem, github_app_keys.public_pem,
                     GITHUB_WEBHOOK_SECRET, github_server.url)


@pytest.fixture
def github(github_app, github_server):
    github_server.reset()
    yield github_server
    github_server.reset()


@pytest.fixture
def eager_tasks():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def system(org):
    return Principal.system(org)


@pytest.fixture
def github_target(org):
    def make(repo, mappings=(("skills/**", "skill"),), branch=None, organization=None, instance_name=None):
        organization = organization or org
        account, _ = ConnectorAccount.objects.get_or_create(
            installation_id=repo.installation_id,
            defaults={"organization": organization, "account_login": repo.full_name.split("/")[0],
                      "account_type": "Organization"},
        )
        assert account.organization_id == organization.pk, (
            "An installation belongs to one organization: give another organization's repository its own "
            "installation_id.")
        instance = ConnectorInstance.objects.create(
            organization=organization, account=account,
            name=instance_name or f"{repo.full_name}@{branch or repo.default_branch}",
        )
        target = ConnectorTarget.objects.create(
            organization=organization, instance=instance, repository_id=repo.id,
            repository_full_name=repo.full_name, branch=branch or repo.default_branch,
        )
        for position, mapping in enumerate(mappings):
            selector, object_type, *rest = mapping
            plugin = rest[0] if rest else None
            ConnectorMapping.objects.create(
                organization=organization, target=target, selector=selector, object_type=object_type,
                plugin=plugin, auto_add_to_plugin=plugin is not None, position=position,
            )
        return target

    return make
