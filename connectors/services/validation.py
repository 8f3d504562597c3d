"""Field rules of the GitHub connector's rows, shared by the services, the API serializers, the admin forms
and the webhook handlers.

Each validator raises django's ValidationError, so serializers and admin forms use the functions as they
are; `check` turns a refusal into the services' Invalid naming the API's field.
"""

import re

from django.core.exceptions import ValidationError

from connectors.matching import compile_selector
from connectors.models import ConnectorTarget
from marketplaces.config_objects.models import ConfigObjectType
from plexica.errors import Invalid

SELECTOR_MAX_LENGTH = 500
NAME_MAX_LENGTH = 200
BRANCH_MAX_LENGTH = 255
REPOSITORY_FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
MAX_GITHUB_ID = 2**63 - 1  # GitHub's ids are stored in a BigIntegerField
# What `git check-ref-format --branch` refuses inside a name.
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def check(field, validator, value):
    """Run a validator; Invalid naming `field` (the API's camelCase name) when it refuses."""
    try:
        validator(value)
    except ValidationError as exc:
        raise Invalid(f"{field}: {' '.join(exc.messages)}", field=field) from None


def validate_selector(value):
    """A non-empty glob relative to the repository root that compiles."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("A selector is a non-empty path glob such as sales/skills/**.")
    if len(value) > SELECTOR_MAX_LENGTH:
        raise ValidationError(f"A selector has at most {SELECTOR_MAX_LENGTH} characters.")
    if value.startswith("/"):
        raise ValidationError("A selector is relative to the repository root: no leading '/'.")
    if any(ord(char) < 32 for char in value):
        raise ValidationError("A selector cannot hold control characters.")
    if ".." in value.split("/"):
        raise ValidationError("A selector cannot hold '..' segments.")
    try:
        compile_selector(value)
    except Exception as exc:  # wcmatch raises several kinds (pattern limits, bad ranges)
        raise ValidationError(f"Not a valid glob: {exc}") from None


def validate_branch(value):
    """A branch name git accepts (`git check-ref-format --branch`)."""
    if not isinstance(value, str) or not value:
        raise ValidationError("A branch name is required.")
    if len(value) > BRANCH_MAX_LENGTH:
        raise ValidationError(f"A branch name has at most {BRANCH_MAX_LENGTH} characters.")
    bad = (
        _BRANCH_FORBIDDEN.search(value) or value.startswith(("-", "/")) or value.endswith(("/", ".", ".lock"))
        or value == "@" or any(part.startswith(".") or part.endswith(".lock") for part in value.split("/"))
    )
    if bad:
        raise ValidationError(f"'{value}' is not a valid git branch name.")


def validate_repository_full_name(value):
    """`owner/name` as GitHub spells it."""
    valid = isinstance(value, str) and REPOSITORY_FULL_NAME.fullmatch(value)
    if not valid or value.endswith(("/.", "/..")):
        raise ValidationError("A repository is named owner/name (letters, digits and '-'; also '.', '_' in "
                              "the name).")


def validate_positive_id(value):
    """A GitHub id: a whole number from 1 that fits the BigIntegerField."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_GITHUB_ID:
        raise ValidationError("Must be a positive whole number.")


def validate_object_type(value):
    """One of the config object types."""
    if value not in ConfigObjectType.values:
        raise ValidationError(f"'{value}' is not one of {', '.join(ConfigObjectType.values)}.")


def validate_name(value):
    """A connector instance's name: not blank, at most NAME_MAX_LENGTH characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("A name is required.")
    if len(value) > NAME_MAX_LENGTH:
        raise ValidationError(f"A name has at most {NAME_MAX_LENGTH} characters.")


def validate_target_status(value):
    """One of a target's statuses (active, disabled)."""
    if value not in ConnectorTarget.Status.values:
        raise ValidationError(f"'{value}' is not one of {', '.join(ConnectorTarget.Status.values)}.")


def validate_position(value):
    """A mapping's position: a whole number from 0 that fits the column."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValidationError("Must be a whole number from 0.")
