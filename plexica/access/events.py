"""The access events: a role on a shareable resource was granted (or changed) or revoked.

Emitted in the transaction of the change (`plexica.events.log.emit`); the subject is ("access_grant",
grt_ id), and the data names the resource (its type and public id), the role and who holds it.
"""

from plexica.events import types
from plexica.events.log import emit

SUBJECT = "access_grant"

TYPES = [
    ("access.granted",
     "A member, a team or the whole organization got a role on a resource (new, restored, or a changed role)."),
    ("access.revoked", "A grant on a resource was revoked."),
]


def register():
    for name, description in TYPES:
        types.register(name, description, SUBJECT)


def grantee(grant):
    """Who a grant is for, as events name it: {"type": member|team|organization, "id": ...}."""
    if grant.org_wide:
        return {"type": "organization", "id": grant.organization_id}
    if grant.team_id:
        return {"type": "team", "id": grant.team_id}
    return {"type": "member", "id": grant.membership_id}


def emit_grant_event(principal, type_, grant, resource_public_id, **data):
    emit(principal, type_, subject=(SUBJECT, grant.pk), data={
        "grantId": grant.pk, "resourceType": grant.resource_type, "resourceId": resource_public_id,
        "role": grant.role, "grantee": grantee(grant), **data,
    })
