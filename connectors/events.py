"""The connector events: a sync of a target finished, completed (every file, or some with errors) or failed.

Emitted by the sync worker as the system, in the transaction that records the outcome
(`plexica.events.log.emit`); the subject is ("connector_instance", cin_ id). A retry that is still coming
emits nothing: sync_failed means the sync gave up.
"""

from plexica.events import types
from plexica.events.log import emit
from plexica.tenancy.principal import Principal

SUBJECT = "connector_instance"
MAX_ERROR_IN_EVENT = 500

TYPES = [
    ("connector.sync_completed",
     "A sync of a connector target finished: status completed, or partial when some files did not parse."),
    ("connector.sync_failed", "A sync of a connector target gave up (a permanent error, or out of attempts)."),
]


def register():
    for name, description in TYPES:
        types.register(name, description, SUBJECT)


def _emit(type_, sync_event, **data):
    target = sync_event.target
    emit(Principal.system(target.organization), type_, subject=(SUBJECT, target.instance_id), data={
        "instanceId": target.instance_id, "targetId": target.pk, "syncEventId": sync_event.pk,
        "repository": target.repository_full_name, "branch": target.branch, "trigger": str(sync_event.trigger),
        **data,
    })


def sync_completed(sync_event, status, summary):
    _emit("connector.sync_completed", sync_event, status=str(status), revision=summary.revision,
          created=summary.created, updated=summary.updated, deleted=summary.deleted, skipped=summary.skipped,
          errorCount=len(summary.errors))


def sync_failed(sync_event, error):
    _emit("connector.sync_failed", sync_event, attempts=sync_event.attempts, error=error[:MAX_ERROR_IN_EVENT])
