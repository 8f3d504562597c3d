"""The shareable resource types: what access grants may name. Apps register theirs in `AppConfig.ready()`.

A type says what its resources are called, which model holds them, the field the API names them by, and how
to find a live one in an organization. Other apps may add ways a caller inherits viewer access to a type
(a plugin seen through a marketplace, a config object through its plugin) with `add_viewable_through`, so a
new resource type needs no change, and no migration, anywhere else.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps


@dataclass
class ShareableType:
    key: str
    noun: str
    model: str  # "app_label.ModelName"
    id_help: str  # how an admin names one: "cfo_..." and so on
    public_id_field: str = "pk"  # the field the API names a resource by (a plugin: plugin_id)
    admin_url_name: str = ""
    lookup: Callable | None = None  # (organization, resource_id) -> the live resource or None
    viewable_through: list = field(default_factory=list)

    @property
    def model_class(self):
        return apps.get_model(self.model)

    def label_of(self, resource):
        """How lists and choosers name one resource: "CRM (plugin-crm)" where the API names it by a public id
        of its own, else its own name ("Sales follow-up")."""
        if self.public_id_field != "pk":
            public, name = getattr(resource, self.public_id_field, ""), getattr(resource, "name", "")
            return f"{name} ({public})" if name and name != public else str(public or resource.pk)
        return str(resource)

    def live(self, queryset):
        """`queryset` without the resources no grant may name any more (soft-deleted ones)."""
        names = {f.name for f in self.model_class._meta.get_fields()}
        if "deleted_at" in names:
            queryset = queryset.filter(deleted_at__isnull=True)
        if "catalog_status" in names:
            queryset = queryset.exclude(catalog_status="deleted")
        return queryset

    def find(self, organization, resource_id):
        """The live resource named `resource_id` in `organization`, or None."""
        if self.lookup is not None:
            return self.lookup(organization, resource_id)
        return self.model_class.objects.filter(organization=organization, pk=resource_id).first()


_TYPES = {}


def register(shareable):
    """Make `shareable` a resource type grants may name (once per key); returns its key."""
    if _TYPES.get(shareable.key, shareable) is not shareable:
        raise ValueError(f"resource type {shareable.key!r} is registered twice")
    _TYPES[shareable.key] = shareable
    return shareable.key


def add_viewable_through(key, viewable_ids):
    """Callers may view resources of `key` whose pks `viewable_ids(principal)` yields (a subquery)."""
    get(key).viewable_through.append(viewable_ids)


def get(key):
    try:
        return _TYPES[key]
    except KeyError:
        raise LookupError(f"{key!r} is not a shareable resource type") from None


def is_registered(key):
    return key in _TYPES


def all_types():
    return list(_TYPES.values())


def choices():
    """(key, label) pairs for the grant's resource_type field (a callable, so new types need no migration)."""
    return [(shareable.key, shareable.noun.capitalize()) for shareable in _TYPES.values()]
