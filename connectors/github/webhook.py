"""The GitHub App's webhooks: signature, event names, and what each handled event does to our rows.

Handlers only touch the database (find targets, create sync events, update accounts and targets); the
sync itself, with its GitHub API calls, runs in the worker, enqueued on commit by queue_sync_event.
An installation id is only trusted together with the repository id: a push routes to a target only
when the target's account holds the payload's installation. An installation belongs to one organization
(connectors.services.accounts.connect_account), so one org's installation never reaches another org's
targets.
"""

import re

from django.core.exceptions import ValidationError
from django.utils import timezone

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, Provider, SyncEvent
from connectors.queueing import queue_sync_event
from connectors.services.validation import MAX_GITHUB_ID, validate_repository_full_name
from plexica.errors import Invalid
from webhooks.inbound.providers import (
    HandlerResult,
    WebhookProvider,
    hmac_sha256_signature_valid,
    register_provider,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
COMMIT_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories


def verify_signature(body, headers, secret):
    return hmac_sha256_signature_valid(body, headers.get(SIGNATURE_HEADER, ""), secret)


_REF_LENGTH = ConnectorTarget._meta.get_field("ref").max_length
_FULL_NAME_LENGTH = ConnectorTarget._meta.get_field("repository_full_name").max_length


def _field(payload, path, kind, max_length=None, validator=None):
    """payload["a"]["b"] for "a.b", of type `kind`; Invalid naming the field otherwise."""
    value = payload
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return _checked(value, path, kind, max_length, validator)


def _checked(value, path, kind, max_length=None, validator=None):
    """`value` if it is a `kind` our rows can hold; Invalid (400, nothing stored) naming `path` otherwise.

    The payload is signed, so it is GitHub's, but a value the database refuses (an id beyond a bigint, a NUL
    or a lone surrogate in a string, a string longer than its column) would be a 500 and a failed delivery.
    """
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Invalid(f"Missing or invalid field: {path}", field=path)
    if kind is int and not 0 < value <= MAX_GITHUB_ID:
        raise Invalid(f"Invalid field: {path} (an id from 1 to {MAX_GITHUB_ID})", field=path)
    if kind is str:
        if "\x00" in value or not _encodable(value):
            raise Invalid(f"Invalid field: {path} (a NUL character or an invalid one)", field=path)
        if max_length is not None and len(value) > max_length:
            raise Invalid(f"Invalid field: {path} (longer than {max_length} characters)", field=path)
    if validator is not None:
        try:
            validator(value)
        except ValidationError as exc:
            raise Invalid(f"Invalid field: {path} ({' '.join(exc.messages)})", field=path) from None
    return value


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON may spell lone surrogates (\ud800), which UTF-8 cannot hold
        return False
    return True


def _installation_id(payload):
    return _field(payload, "installation.id", int)


def _repository_id(payload):
    return _field(payload, "repository.id", int)


def _targets_of_installation(installation_id, repository_ids):
    """Targets of these repositories under accounts that hold this installation (any status)."""
    return ConnectorTarget.objects.filter(
        repository_id__in=repository_ids,
        instance__account__provider=Provider.GITHUB,
        instance__account__installation_id=installation_id,
    )


def _syncable(targets):
    """Only targets that are synced at all: active target, instance and account."""
    return targets.filter(
        status=ConnectorTarget.Status.ACTIVE,
        instance__status=ConnectorInstance.Status.ACTIVE,
        instance__account__status=ConnectorAccount.Status.ACTIVE,
    )


def _queue(targets, event_type, delivery, head_sha=""):
    event_ids = []
    for target in targets:
        event, created = queue_sync_event(target, event_type, trigger=SyncEvent.Trigger.WEBHOOK,
                                          head_sha=head_sha, delivery_id=delivery.delivery_id)
        if created:
            event_ids.append(event.pk)
    return event_ids


def handle_push(delivery, payload):
    """A push to a mapped branch queues one sync per target at the pushed head (deduplicated on the SHA)."""
    ref = _field(payload, "ref", str, max_length=_REF_LENGTH)
    repository_id = _repository_id(payload)
    installation_id = _installation_id(payload)
    head_sha = _field(payload, "after", str, max_length=64).lower()
    if not COMMIT_SHA.fullmatch(head_sha):
        raise Invalid("Missing or invalid field: after (a commit SHA)", field="after")
    targets = list(_syncable(_targets_of_installation(installation_id, [repository_id]).filter(ref=ref)))
    details = {"ref": ref, "repositoryId": repository_id, "headSha": head_sha, "targets": len(targets)}
    if not targets:
        return HandlerResult(reason=f"no active target follows {ref} of repository {repository_id}",
                             details=details)
    if payload.get("deleted") is True or not head_sha.strip("0"):
        # The branch is gone: nothing to read. Its objects stay until the branch returns.
        return HandlerResult(reason=f"branch {ref} was deleted; no sync queued", details=details)
    event_ids = _queue(targets, SyncEvent.Type.PUSH, delivery, head_sha=head_sha)
    reason = "" if event_ids else f"head {head_sha} is already queued or synced"
    return HandlerResult(queued=len(event_ids), reason=reason, details={**details, "syncEventIds": event_ids})


def handle_installation(delivery, payload):
    """Deleted or suspended installation: its account stops syncing; unsuspend resumes it."""
    installation_id = _installation_id(payload)
    action = delivery.action
    accounts = ConnectorAccount.objects.filter(provider=Provider.GITHUB, installation_id=installation_id)
    now = timezone.now()
    if action == "deleted":
        changed = accounts.exclude(status=ConnectorAccount.Status.DISCONNECTED).update(
            status=ConnectorAccount.Status.DISCONNECTED, disconnected_at=now, updated_at=now)
    elif action == "suspend":
        changed = accounts.filter(status=ConnectorAccount.Status.ACTIVE).update(
            status=ConnectorAccount.Status.INACTIVE, disconnected_at=now, updated_at=now)
    elif action == "unsuspend":
        # Only what a suspension made inactive (it set disconnected_at); a reconcile catches up missed pushes.
        suspended = accounts.filter(status=ConnectorAccount.Status.INACTIVE, disconnected_at__isnull=False)
        changed = suspended.update(status=ConnectorAccount.Status.ACTIVE, disconnected_at=None,
                                   updated_at=now)
        return HandlerResult(changed=changed, reason="" if changed else "no suspended account holds it",
                             details={"installationId": installation_id, "accounts": changed})
    else:
        return HandlerResult(reason=f"installation action {action or '(none)'} needs nothing",
                             details={"installationId": installation_id})
    # Work queued before the installation went away would only fail against GitHub; drop it now.
    dropped = SyncEvent.objects.filter(
        status=SyncEvent.Status.QUEUED, target__instance__account__provider=Provider.GITHUB,
        target__instance__account__installation_id=installation_id,
    ).update(status=SyncEvent.Status.IGNORED, error=f"installation {action}", finished_at=now, updated_at=now)
    return HandlerResult(
        changed=changed + dropped, reason="" if changed else "no connected account holds this installation",
        details={"installationId": installation_id, "accounts": changed, "syncEventsDropped": dropped},
    )


def handle_installation_repositories(delivery, payload):
    """Repositories removed from the installation: their targets are disabled, with the reason."""
    installation_id = _installation_id(payload)
    if delivery.action != "removed":
        return HandlerResult(reason=f"installation_repositories action {delivery.action or '(none)'} needs "
                             "nothing", details={"installationId": installation_id})
    removed = payload.get("repositories_removed")
    if not isinstance(removed, list):
        raise Invalid("Missing or invalid field: repositories_removed", field="repositories_removed")
    repository_ids = [_checked(repo.get("id") if isinstance(repo, dict) else None,
                               f"repositories_removed[{n}].id", int) for n, repo in enumerate(removed)]
    now = timezone.now()
    disabled = _targets_of_installation(installation_id, repository_ids).filter(
        status=ConnectorTarget.Status.ACTIVE
    ).update(status=ConnectorTarget.Status.DISABLED, updated_at=now,
             disabled_reason=f"Repository removed from GitHub App installation {installation_id}.")
    return HandlerResult(
        changed=disabled, reason="" if disabled else "no active target follows the removed repositories",
        details={"installationId": installation_id, "repositoryIds": repository_ids,
                 "targetsDisabled": disabled},
    )


def handle_repository(delivery, payload):
    """A renamed or transferred repository: its targets follow the new full name, each synced one resyncs.

    Targets are found by repository id, so a new owner (transferred) is followed like a new name.
    """
    installation_id = _installation_id(payload)
    repository_id = _repository_id(payload)
    details = {"installationId": installation_id, "repositoryId": repository_id}
    targets = _targets_of_installation(installation_id, [repository_id])
    now = timezone.now()
    if delivery.action in ("renamed", "transferred"):
        full_name = _field(payload, "repository.full_name", str, max_length=_FULL_NAME_LENGTH,
                           validator=validate_repository_full_name)
        renamed = targets.exclude(repository_full_name=full_name).update(repository_full_name=full_name,
                                                                         updated_at=now)
        event_ids = _queue(_syncable(targets), SyncEvent.Type.REPOSITORY, delivery)
        return HandlerResult(queued=len(event_ids), changed=renamed,
                             reason="" if renamed or event_ids else "no target follows this repository",
                             details={**details, "fullName": full_name, "targetsRenamed": renamed,
                                      "syncEventIds": event_ids})
    if delivery.action == "deleted":
        disabled = targets.filter(status=ConnectorTarget.Status.ACTIVE).update(
            status=ConnectorTarget.Status.DISABLED, disabled_reason="Repository deleted on GitHub.",
            updated_at=now)
        return HandlerResult(changed=disabled, details={**details, "targetsDisabled": disabled},
                             reason="" if disabled else "no active target follows this repository")
    return HandlerResult(reason=f"repository action {delivery.action or '(none)'} needs nothing",
                         details=details)


def unhandled_reason(event, payload):
    """Why a delivery is not ours: only the App's carry an installation, not repository or organization hooks'.

    Ignored (a 2xx), not refused: a 400 would be a failed delivery in the hook's log on GitHub.
    """
    if payload.get("installation") is None:
        return f"event {event} without an installation (a repository or organization webhook) is not handled"
    return ""


HANDLERS = {
    "push": handle_push,
    "installation": handle_installation,
    "installation_repositories": handle_installation_repositories,
    "repository": handle_repository,
}


def handle(delivery, payload):
    return HANDLERS[delivery.event](delivery, payload)


GITHUB = register_provider(WebhookProvider(
    name=Provider.GITHUB.value,
    secret_setting="GITHUB_WEBHOOK_SECRET",
    verify_signature=verify_signature,
    event_header="X-GitHub-Event",
    delivery_header="X-GitHub-Delivery",
    handled_events=frozenset(HANDLERS),
    handle=handle,
    recorded_headers=("X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID",
                      "X-GitHub-Hook-Installation-Target-Type", "X-GitHub-Hook-Installation-Target-ID",
                      SIGNATURE_HEADER),
    unhandled_reason=unhandled_reason,
    form_payload_field="payload",  # a hook whose content type is "form" sends payload=<the JSON>
))
