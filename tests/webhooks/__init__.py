"""Signing and sending GitHub webhook deliveries the way GitHub does, for the ingress and connector tests."""

import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

from django.test import Client

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget

URL = "/api/v1/webhooks/connectors/github"
SECRET = "ingress-test-secret"


def sign(body, secret=SECRET):
    """The X-Hub-Signature-256 header GitHub sends for `body` (bytes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


FORM = "application/x-www-form-urlencoded"


def deliver(event, payload=None, *, body=None, delivery_id=None, signature=None, headers=None, client=None,
            content_type="application/json"):
    """POST a signed delivery (`payload` as JSON, or the raw `body`); the response.

    `signature=None` signs the body with SECRET; a string is sent as the header instead, "" sends none.
    `event=None` or `delivery_id=""` leave that header out. With `content_type=FORM` a `payload` is sent as
    GitHub sends a hook whose content type is form: `payload=<the JSON, URL-encoded>`.
    """
    if body is None:
        body = json.dumps(payload).encode()
        if content_type.startswith(FORM):
            body = urlencode({"payload": body}).encode()
    sent = {"User-Agent": "GitHub-Hookshot/abc123"}
    if event is not None:
        sent["X-GitHub-Event"] = event
    delivery_id = str(uuid.uuid4()) if delivery_id is None else delivery_id
    if delivery_id:
        sent["X-GitHub-Delivery"] = delivery_id
    signature = sign(body) if signature is None else signature
    if signature:
        sent["X-Hub-Signature-256"] = signature
    sent.update(headers or {})
    # CSRF checks on: the ingress must not need a token (providers have none).
    client = client or Client(enforce_csrf_checks=True)
    return client.post(URL, data=body, content_type=content_type, headers=sent)


def connect(org, installation_id, repository_id, full_name, branch="main", instance_name=None):
    """A target of `org` following `full_name`@`branch` through the account of `installation_id` (which must
    not belong to another organization)."""
    account, _ = ConnectorAccount.objects.get_or_create(
        installation_id=installation_id,
        defaults={"organization": org, "account_login": full_name.split("/")[0],
                  "account_type": "Organization"},
    )
    assert account.organization_id == org.pk, "An installation belongs to one organization."
    instance = ConnectorInstance.objects.create(
        organization=org, account=account, name=instance_name or f"{full_name}@{branch}",
    )
    return ConnectorTarget.objects.create(
        organization=org, instance=instance, repository_id=repository_id, repository_full_name=full_name,
        branch=branch,
    )


def push_payload(repository_id, full_name, installation_id, ref="refs/heads/main", after="a" * 40,
                 deleted=False):
    return {
        "ref": ref, "before": "b" * 40, "after": "0" * 40 if deleted else after,
        "created": False, "deleted": deleted, "forced": False,
        "repository": {"id": repository_id, "full_name": full_name, "name": full_name.split("/")[1]},
        "installation": {"id": installation_id, "node_id": "MDIz"},
        "sender": {"login": "octocat", "id": 1},
        "commits": [], "head_commit": None,
    }
