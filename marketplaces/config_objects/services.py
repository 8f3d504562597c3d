"""Config object rules: create with a first version, add immutable versions, archive, delete, restore, read and
compare versions. No HTTP. Each public function takes the acting principal first and checks its own rule
(plexica.access): viewer to read, editor to add a version, manager to archive, delete or restore; creating
needs a person of the organization (not a plugin key). Lookups come first, so another organization's id is a
404 before any 403.

A new version is serialised per object by a row lock on the ConfigObject, so "is my base still the
latest?" and the insert happen atomically: of two writers starting from the same version, one gets 409.

Every change emits its event in its transaction (config_object.created, .version_created, .archived,
.deleted, .restored; see marketplaces.events); a call that changes nothing emits nothing.
"""

import difflib
import json
import posixpath
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.config_objects.parsing import parse_version_input, with_lf_endings
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access import services as access
from plexica.errors import Conflict, Invalid, NotFound
from plexica.events.log import emit
from plexica.transitions import transition

CREATED_VIA_BY_SOURCE_MODE = {
    ConfigObject.SourceMode.CLOUD: ConfigObjectVersion.CreatedVia.CLOUD,
    ConfigObject.SourceMode.IMPORT: ConfigObjectVersion.CreatedVia.IMPORT,
    ConfigObject.SourceMode.CONNECTOR: ConfigObjectVersion.CreatedVia.CONNECTOR,
}
READ_ONLY_STATUSES = (ConfigObject.Status.ARCHIVED, ConfigObject.Status.DELETED)
LATEST_VERSION_FIELDS = ("id", "created_at", "created_via", "schema_version", "sha256", "is_deleted_version")


@dataclass(frozen=True)
class VersionInput:
    raw_source_text: str | None = None
    normalized_payload_json: object = None
    schema_version: str = ""
    metadata: dict = field(default_factory=dict)
    reason: str = ""
    source_revision: str = ""


# Reading


def latest_version_value(field_name, outer="pk"):
    """A subquery of one field of the latest version of the config object that `outer` names."""
    newest = ConfigObjectVersion.objects.filter(config_object=OuterRef(outer)).order_by(
        *ConfigObjectVersion.NEWEST_FIRST
    )
    return Subquery(newest.values(field_name)[:1])


def latest_version_annotations(outer="pk"):
    """`latest_version_<field>` annotations of the latest version's summary (see LATEST_VERSION_FIELDS)."""
    return {f"latest_version_{name}": latest_version_value(name, outer) for name in LATEST_VERSION_FIELDS}


def with_latest_version(queryset):
    """Annotate each object with its latest version's summary in the same query (no N+1)."""
    return queryset.annotate(**latest_version_annotations())


def _object_queryset(organization, include_deleted=False):
    queryset = with_latest_version(ConfigObject.objects.filter(organization=organization))
    return queryset if include_deleted else queryset.filter(deleted_at__isnull=True)


def lookup_config_object(organization, object_id, include_deleted=False):
    """The object of `organization` with its latest version summary, or NotFound (deleted ones only when asked
    for). No access check: for callers that check a rule of their own next (grants, delivery, membership)."""
    found = _object_queryset(organization, include_deleted).filter(pk=object_id).first()
    if found is None:
        raise _not_found(object_id)
    return found


def _not_found(object_id):
    return NotFound(f"No config object {object_id} in this organization.", title="Config object not found")


def list_config_objects(principal):
    """The organization's config objects the caller can view, deleted ones included (the list filters them),
    each with its latest version summary."""
    objects = ConfigObject.objects.filter(organization=principal.organization).select_related("created_by")
    return with_latest_version(access.restrict(objects, principal, CONFIG_OBJECT))


def get_config_object(principal, object_id, include_deleted=False):
    """One config object with its latest version summary; the viewer role on it."""
    obj = lookup_config_object(principal.organization, object_id, include_deleted=include_deleted)
    access.require_role(principal, CONFIG_OBJECT, obj.pk, access.VIEWER)
    return obj


def list_versions(principal, object_id, include_deleted=False):
    """The versions of one config object, newest first; the viewer role on the object."""
    return _versions_of(get_config_object(principal, object_id, include_deleted))


def get_version(principal, object_id, version_id, include_deleted=False):
    """One version of a config object, with its payload; the viewer role on the object."""
    return _version_of(get_config_object(principal, object_id, include_deleted), version_id)


def get_latest_version(principal, object_id, include_deleted=False):
    """The newest version of a config object, with its payload; the viewer role on the object."""
    obj = get_config_object(principal, object_id, include_deleted)
    return _version_of(obj, obj.latest_version_id)


def _versions_of(obj):
    return ConfigObjectVersion.objects.filter(config_object=obj).select_related("created_by")


def _version_of(obj, version_id):
    version = _versions_of(obj).filter(pk=version_id).first()
    if version is None:
        raise NotFound(f"Config object {obj.pk} has no version {version_id}.", title="Version not found")
    return version


NO_NEWLINE = "\\ No newline at end of file\n"


def _diff_text(version, as_json):
    if not as_json:
        return with_lf_endings(version.raw_source_text)  # line endings alone are not a change (see parsing)
    payload = version.normalized_payload_json
    if payload is None:
        payload = version.raw_source_text
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _lines(text):
    """`text`'s lines, each with its newline; split at LF only, as diff does (not at form feeds or U+2028)."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def _unified_diff(old_text, new_text, fromfile, tofile):
    """`diff -u` of two texts with LF line endings, a last line without newline marked as diff marks it."""
    diff = difflib.unified_diff(_lines(old_text), _lines(new_text), fromfile=fromfile, tofile=tofile)
    return "".join(line if line.endswith("\n") else f"{line}\n{NO_NEWLINE}" for line in diff)


def compare_versions(principal, object_id, from_id, to_id, include_deleted=False):
    """A unified diff from one version of a config object to another (raw text if both have it, else their
    JSON): (old, new, diff); the viewer role on the object.

    Line endings are compared as LF; a text that does not end in a newline gets `diff -u`'s
    "\\ No newline at end of file" line after its last line.
    """
    obj = get_config_object(principal, object_id, include_deleted)
    if not from_id or not to_id:
        raise Invalid("from and to: both version ids are required.", field="from" if not from_id else "to")
    old, new = _version_of(obj, from_id), _version_of(obj, to_id)
    as_json = old.raw_source_text is None or new.raw_source_text is None
    return old, new, _unified_diff(_diff_text(old, as_json), _diff_text(new, as_json), old.pk, new.pk)


# Changing


def _emit(principal, type_, obj, **data):
    emit(principal, type_, subject=("config_object", obj.pk),
         data={"configObjectId": obj.pk, "type": obj.type, "title": obj.title, **data})


def _apply_projection(obj, parsed, metadata):
    obj.title = parsed.title or obj.title or f"Untitled {obj.get_type_display().lower()}"
    obj.description = parsed.description
    path = metadata.get("relativePath") if isinstance(metadata.get("relativePath"), str) else ""
    name = metadata.get("fileName") if isinstance(metadata.get("fileName"), str) else ""
    if path or name:
        obj.relative_path = path[:1024]
        obj.file_name = (name or posixpath.basename(path))[:255]
        obj.file_extension = posixpath.splitext(obj.file_name)[1].lstrip(".")[:32]
    obj.search_text = "\n".join(filter(None, [obj.title, obj.description, obj.relative_path])).lower()


def _insert_version(obj, parsed, data, principal, created_via, after=None, now=None):
    created_at = now or timezone.now()
    if after is not None and created_at <= after.created_at:
        # Clocks of different web hosts disagree a little; the newest must still sort last.
        created_at = after.created_at + timedelta(microseconds=1)
    return ConfigObjectVersion.objects.create(
        config_object=obj, raw_source_text=parsed.raw_source_text,
        normalized_payload_json=parsed.normalized_payload_json, schema_version=data.schema_version,
        metadata=data.metadata, reason=data.reason, created_via=created_via, created_by=principal.user,
        source_revision=data.source_revision, sha256=parsed.sha256, created_at=created_at,
    )


def create_config_object(principal, type_, source_mode, data, now=None):
    """A new config object with its first version; (object, version). Invalid input creates nothing.

    Any person of the organization may create one (a plugin key may not); a member who does becomes its
    manager.
    """
    access.require_member_capability(principal, "Creating a config object")
    parsed = parse_version_input(type_, data.raw_source_text, data.normalized_payload_json)
    now = now or timezone.now()
    with transaction.atomic():
        obj = ConfigObject(organization=principal.organization, type=type_, source_mode=source_mode,
                           created_by=principal.user, created_at=now, updated_at=now)
        _apply_projection(obj, parsed, data.metadata)
        obj.save()
        version = _insert_version(obj, parsed, data, principal, CREATED_VIA_BY_SOURCE_MODE[source_mode], now=now)
        _emit(principal, "config_object.created", obj, sourceMode=obj.source_mode, versionId=version.pk)
        access.grant_creator(principal, CONFIG_OBJECT, obj.pk)
    return obj, version


def parse_if_match(header):
    """The version ids an `If-Match` header names (quotes and W/ removed); None when absent."""
    if header is None:
        return None
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip()}
    tags.discard("")
    if not tags:
        raise Invalid("If-Match names no version: send the latest version id you read, in quotes.",
                      field="If-Match")
    return tags


def _locked(principal, object_id, include_deleted=False):
    """The object of the caller's organization, its row locked until the transaction ends; NotFound."""
    queryset = ConfigObject.objects.select_for_update().filter(organization=principal.organization, pk=object_id)
    obj = (queryset if include_deleted else queryset.filter(deleted_at__isnull=True)).first()
    if obj is None:
        raise _not_found(object_id)
    return obj


def add_version(principal, object_id, data, base_version_ids=None, created_via=None, now=None):
    """Add a version unless its parsed content equals the latest; (version, created). The editor role.

    `base_version_ids` (from If-Match or baseVersionId) must name the latest version, else Conflict:
    someone else added a version since the caller read it.
    """
    with transaction.atomic():
        obj = _locked(principal, object_id)
        access.require_role(principal, CONFIG_OBJECT, obj.pk, access.EDITOR, "Adding a version needs the editor role")
        if obj.status in READ_ONLY_STATUSES:
            raise Conflict(f"Config object {obj.pk} is {obj.status}; restore it before adding versions.",
                           status=obj.status)
        latest = obj.latest_version()
        if base_version_ids is not None and "*" not in base_version_ids and latest.pk not in base_version_ids:
            raise Conflict(
                "Someone else added a version since you read this config object; read the latest and retry.",
                latestVersionId=latest.pk,
            )
        parsed = parse_version_input(obj.type, data.raw_source_text, data.normalized_payload_json)
        recovered = obj.status == ConfigObject.Status.INGESTION_ERROR  # valid content again clears the error
        if recovered:
            obj.status = ConfigObject.Status.ACTIVE
        if parsed.sha256 == latest.sha256:
            if recovered:
                obj.save(update_fields=["status"])
            return latest, False
        version = _insert_version(obj, parsed, data, principal,
                                  created_via or CREATED_VIA_BY_SOURCE_MODE[obj.source_mode], after=latest, now=now)
        _apply_projection(obj, parsed, data.metadata)
        obj.updated_at = version.created_at
        obj.save(update_fields=["title", "description", "search_text", "relative_path", "file_name",
                                "file_extension", "updated_at", "status"])
        _emit(principal, "config_object.version_created", obj, versionId=version.pk,
              createdVia=version.created_via, previousVersionId=latest.pk)
    return version, True


def record_deleted_version(principal, object_id, source_revision="", reason="", created_via=None, now=None):
    """The source of `object_id` is gone (a connector saw the file removed): add a version marked
    `is_deleted_version` (it repeats the last payload, so history shows what was removed) and soft-delete the
    object, which takes it out of delivery. The manager role, as for deleting. Returns the new version; an
    already deleted object is left alone (None)."""
    with transaction.atomic():
        obj = _locked(principal, object_id, include_deleted=True)
        access.require_role(principal, CONFIG_OBJECT, obj.pk, access.MANAGER,
                            "Recording that a config object's source was removed needs the manager role")
        if obj.is_deleted:
            return None
        latest = obj.latest_version()
        created_at = now or timezone.now()
        if created_at <= latest.created_at:
            created_at = latest.created_at + timedelta(microseconds=1)
        version = ConfigObjectVersion.objects.create(
            config_object=obj, raw_source_text=latest.raw_source_text,
            normalized_payload_json=latest.normalized_payload_json, schema_version=latest.schema_version,
            metadata=latest.metadata, reason=reason or "The source was removed.",
            created_via=created_via or CREATED_VIA_BY_SOURCE_MODE[obj.source_mode], created_by=principal.user,
            source_revision=source_revision, is_deleted_version=True, sha256=latest.sha256, created_at=created_at,
        )
        previous = obj.status
        obj.status, obj.deleted_at, obj.updated_at = ConfigObject.Status.DELETED, created_at, created_at
        obj.save(update_fields=["status", "deleted_at", "updated_at"])
        _emit(principal, "config_object.deleted", obj, fromStatus=previous, sourceRemoved=True, versionId=version.pk)
    return version


def mark_ingestion_error(principal, object_id):
    """The newest source of `object_id` failed to parse: it keeps its last good version and shows the error
    status until valid content arrives (add_version clears it). The editor role, as for adding a version.
    Returns how many objects changed (0 when it is gone or deleted)."""
    live = ConfigObject.objects.filter(organization=principal.organization, pk=object_id, deleted_at__isnull=True)
    if not live.exists():
        return 0
    access.require_role(principal, CONFIG_OBJECT, object_id, access.EDITOR,
                        "Marking a config object's source as unreadable needs the editor role")
    return live.update(status=ConfigObject.Status.INGESTION_ERROR, updated_at=timezone.now())


def _set_status(principal, object_id, allowed_from, status, role, doing, include_deleted=False, **changes):
    """(obj, previous status), or (obj, None) when it already had `status` (nothing changed)."""
    with transaction.atomic():
        obj = _locked(principal, object_id, include_deleted)
        access.require_role(principal, CONFIG_OBJECT, obj.pk, role, doing)
        previous = obj.status
        if previous == status:
            return obj, None
        transition(obj, status, allowed_from, what=f"Config object {obj.pk}", changes=changes)
    return obj, previous


def archive_config_object(principal, object_id):
    """Archived objects keep their versions but take no new ones until restored. The manager role."""
    S = ConfigObject.Status
    with transaction.atomic():
        obj, previous = _set_status(principal, object_id, (S.ACTIVE, S.INACTIVE, S.INGESTION_ERROR), S.ARCHIVED,
                                    access.MANAGER, "Archiving a config object needs the manager role")
        if previous is not None:
            _emit(principal, "config_object.archived", obj, fromStatus=previous)
    return obj


def delete_config_object(principal, object_id, now=None):
    """Soft delete: the row and its versions stay; lists hide it unless includeDeleted. The manager role."""
    S = ConfigObject.Status
    with transaction.atomic():
        obj, previous = _set_status(principal, object_id, (S.ACTIVE, S.INACTIVE, S.ARCHIVED, S.INGESTION_ERROR),
                                    S.DELETED, access.MANAGER, "Deleting a config object needs the manager role",
                                    deleted_at=now or timezone.now())
        if previous is not None:
            _emit(principal, "config_object.deleted", obj, fromStatus=previous, sourceRemoved=False)
    return obj


def restore_config_object(principal, object_id, now=None):
    """Bring an archived or deleted object back to active. The manager role.

    An object whose source was removed (its latest version is a deleted version) gets a new version with the
    content it had, so delivery serves it again.
    """
    S = ConfigObject.Status
    with transaction.atomic():
        obj, previous = _set_status(principal, object_id, (S.ARCHIVED, S.DELETED), S.ACTIVE, access.MANAGER,
                                    "Restoring a config object needs the manager role", include_deleted=True,
                                    deleted_at=None)
        latest = obj.latest_version()
        restored_version = None
        if latest is not None and latest.is_deleted_version:
            created_at = max(now or timezone.now(), latest.created_at + timedelta(microseconds=1))
            restored_version = ConfigObjectVersion.objects.create(
                config_object=obj, raw_source_text=latest.raw_source_text,
                normalized_payload_json=latest.normalized_payload_json, schema_version=latest.schema_version,
                metadata=latest.metadata, reason="Restored.", created_via=ConfigObjectVersion.CreatedVia.SYSTEM,
                created_by=principal.user, source_revision=latest.source_revision, sha256=latest.sha256,
                created_at=created_at,
            )
        if previous is not None:
            _emit(principal, "config_object.restored", obj, fromStatus=previous,
                  versionId=restored_version.pk if restored_version is not None else None)
    return obj
