"""Status transitions: check that a row's status may become another, then change it, in one place.

A refused transition is a Conflict (409) that says what the row is and what it cannot become, e.g.
"Config object cfo_... is archived; it cannot become inactive."
"""

from django.utils import timezone

from plexica.errors import Conflict


def require_transition(what, current, to, allowed_from, *, title=None, **details):
    """Conflict unless `current` is one of `allowed_from`; `what` names the row ("Plugin plugin-crm")."""
    if current not in allowed_from:
        raise Conflict(f"{what} is {current}; it cannot become {to}.", **({"title": title} if title else {}),
                       **details)


def transition(obj, to, allowed_from, *, what, field="status", title=None, detail="status", changes=None,
               touch="updated_at"):
    """Move `obj` (locked by the caller) from one of `allowed_from` to `to` and save the changed fields.

    `changes` are other fields set with the transition; `touch` (when not None) is set to now. The Conflict's
    details name the current value under `detail`.
    """
    current = getattr(obj, field)
    require_transition(what, current, to, allowed_from, title=title, **{detail: current})
    changes = dict(changes or {})
    if touch:
        changes[touch] = timezone.now()
    setattr(obj, field, to)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save(update_fields=[field, *changes])
    return obj
