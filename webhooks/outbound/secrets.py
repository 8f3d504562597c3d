"""Webhook endpoint secrets: generated and checked.

A secret is either a Standard Webhooks secret, `whsec_` + base64 of 24 to 64 random bytes (generated ones
carry 32), or a plain string of 16 to 255 printable ASCII characters that a receiver already holds (the
seed's `{"secret": "..."}`).

Deliveries are signed with it as webhooks.outbound.signing describes: the Standard Webhooks signature is
keyed with a `whsec_` secret's decoded bytes (what the `standardwebhooks` libraries do with the string) or a
plain secret's UTF-8 bytes; `X-Plexica-Signature-256` with the secret string's UTF-8 bytes, `whsec_` included.
"""

import base64
import binascii
import secrets

PREFIX = "whsec_"
GENERATED_BYTES = 32
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
MIN_PLAIN_LENGTH, MAX_PLAIN_LENGTH = 16, 255
# Longest accepted secret: whsec_ + base64 of 64 bytes (88 characters) is shorter than a plain one.
MAX_LENGTH = MAX_PLAIN_LENGTH

RULE = (f"A secret is '{PREFIX}' + base64 of {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, or {MIN_PLAIN_LENGTH} to "
        f"{MAX_PLAIN_LENGTH} printable ASCII characters (no leading or trailing space); leave it out to have "
        "one generated.")


def generate():
    """A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_BYTES)).decode("ascii")


def _decoded_key(secret):
    """The key bytes of a `whsec_` secret, or None when its base64 is malformed."""
    try:
        return base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None


def secret_error(secret):
    """Why `secret` cannot be an endpoint's secret, or None when it can."""
    if not isinstance(secret, str):
        return "A secret is a string. " + RULE
    if secret.startswith(PREFIX):
        key = _decoded_key(secret)
        if key is None:
            return f"The part after '{PREFIX}' is not valid base64 (standard alphabet, with its '=' padding)."
        if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
            return (f"A '{PREFIX}' secret carries {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes; this one carries "
                    f"{len(key)}.")
        return None
    if not MIN_PLAIN_LENGTH <= len(secret) <= MAX_PLAIN_LENGTH:
        return f"A plain secret is {MIN_PLAIN_LENGTH} to {MAX_PLAIN_LENGTH} characters; this one has {len(secret)}."
    if any(not " " <= char <= "~" for char in secret):
        return "A plain secret holds printable ASCII characters only (no control or non-ASCII characters)."
    if secret != secret.strip(" "):
        return "A plain secret does not begin or end with a space."
    return None

