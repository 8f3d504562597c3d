"""The members' page panel "Your API keys": the keys that act as the member, issued and revoked by them.

The token of a new key is shown once, in the page that answers the POST (never in a cookie, the session or a
message), as the admin's own key page does.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from plexica.adminsite.members import register_member_panel
from plexica.errors import Invalid
from plexica.tenancy.models import ApiKey
from plexica.tenancy.services import create_own_api_key, list_own_api_keys, revoke_own_api_key

PANEL = "api-keys"
EXPIRY_CHOICES = [("30", "in 30 days"), ("90", "in 90 days"), ("365", "in a year"), ("", "never")]
MEMBER_SCOPES = [(ApiKey.Scope.API_READ, "Read the admin and delivery API"),
                 (ApiKey.Scope.API_WRITE, "Read and write the admin and delivery API")]
SHOWN_KEYS = 50


def render(request, principal):
    from plexica.tenancy.admin import api_key_state  # the admin module loads after the apps are ready

    keys = list(list_own_api_keys(principal).select_related("organization").order_by("-created_at")[:SHOWN_KEYS + 1])
    for key in keys:
        key.state_badge = api_key_state(key)
    return {"keys": keys[:SHOWN_KEYS], "more": len(keys) > SHOWN_KEYS, "expiry_choices": EXPIRY_CHOICES,
            "scope_choices": MEMBER_SCOPES, "now": timezone.now()}


def handle(request, principal):
    """create: issue a key and show its token once; revoke: revoke one of the member's keys."""
    action = request.POST.get("action")
    if action == "revoke":
        key = revoke_own_api_key(principal, request.POST.get("key", ""))
        return f"Revoked the API key {key.name}; it stops working at once."
    if action != "create":
        raise Invalid("Choose to create or revoke a key.", field="action")
    name = request.POST.get("name", "").strip()
    if not name:
        raise Invalid("Give the key a name, to recognise it later (e.g. \"laptop CLI\").", field="name")
    days = request.POST.get("expires", "90")
    if days not in {value for value, _ in EXPIRY_CHOICES}:
        raise Invalid("Choose when the key expires.", field="expires")
    scopes = [scope for scope in request.POST.getlist("scopes") if scope in dict(MEMBER_SCOPES)]
    expires_at = timezone.now() + timedelta(days=int(days)) if days else None
    try:
        key, token = create_own_api_key(principal, name=name[:100], scopes=scopes, expires_at=expires_at)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field="name") from exc
    # A dict: the page is rendered in answer to this POST, with the token in this panel only.
    return {"created": key, "token": token}


def register():
    register_member_panel(PANEL, "Your API keys", render, "admin/tenancy/member/api_keys.html", handle=handle,
                          order=20)
