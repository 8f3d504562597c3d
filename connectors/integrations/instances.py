"""Integration instance rules: create, configure, set credentials, disconnect, delete, and the status an
instance is in. No HTTP: the API, the admin and the workers call these.

Who: everyone in the organization (members and plugin keys too) reads its instances; organization admins
create, change, connect, disconnect and delete them. Another organization's instance is unknown (404).
Executing an instance's methods is execution.py's rule: a member needs the editor role on the instance (an
access grant on `integration_instance`, connectors/sharing.py); deleting an instance revokes its grants.

Status (the seed's), recomputed on every change and recorded as an `integration_instance.status_changed`
event in the same transaction:
- PENDING_CONFIGURATION while the config merged over the definition's `defaultConfig` does not validate
  against its `configSchema`;
- PENDING_AUTHENTICATION until credentials exist (never for authType none);
- CONNECTED; DISCONNECTED after an explicit disconnect (credentials dropped);
- AUTH_ERROR when the provider refused a refresh; CONFIG_ERROR when a config that validated stops
  validating (a new definition version, or a baseUrl the network policy refuses at execution).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.integrations import definitions, schemas
from connectors.integrations.errors import ValidationFailed
from connectors.integrations.models import AuthType, IntegrationDefinition, IntegrationInstance
from connectors.sharing import INTEGRATION_INSTANCE
from plexica.access.models import AccessGrant
from plexica.access.services import require_org_admin
from plexica.errors import Conflict, Invalid, NotFound
from plexica.events.log import emit

Status = IntegrationInstance.Status
MAX_NAME = 200
SECRET_CONFIG_KEYS = ("clientSecret",)


def visible(principal):
    return IntegrationInstance.objects.filter(organization=principal.organization).select_related("definition")


def _not_found(instance_id):
    return NotFound(f"No integration instance {instance_id} in this organization.",
                    title="Integration instance not found")


def get(principal, instance_id, *, lock=False):
    queryset = visible(principal)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    instance = queryset.filter(pk=instance_id).first()
    if instance is None:
        raise _not_found(instance_id)
    return instance


def merged_config(instance):
    """The instance's config over its definition's defaults."""
    return {**(instance.definition.default_config or {}), **(instance.config or {})}


def public_config(instance):
    """The instance's own config as the API shows it: secrets (an OAuth client secret) masked."""
    return {key: ("********" if key in SECRET_CONFIG_KEYS else value) for key, value in (instance.config or {}).items()}


def config_errors(instance):
    return schemas.validation_errors(instance.definition.config_schema, merged_config(instance))


def computed_status(instance, *, previous=None):
    """The status the instance's config and credentials put it in (DISCONNECTED and AUTH_ERROR stay until
    credentials are set again)."""
    previous = previous or instance.status
    if config_errors(instance):
        return Status.CONFIG_ERROR if previous in (Status.CONNECTED, Status.CONFIG_ERROR) else \
            Status.PENDING_CONFIGURATION
    if instance.definition.auth_type == AuthType.NONE:
        return Status.CONNECTED if previous != Status.DISCONNECTED else Status.DISCONNECTED
    if not instance.credentials:
        return Status.DISCONNECTED if previous == Status.DISCONNECTED else Status.PENDING_AUTHENTICATION
    if previous == Status.AUTH_ERROR:
        return Status.AUTH_ERROR
    return Status.CONNECTED


def set_status(principal, instance, status, reason="", *, now=None):
    """Move `instance` to `status` (saved, with an event when it changed); call inside a transaction."""
    now = now or timezone.now()
    previous = instance.status
    instance.status, instance.status_reason, instance.updated_at = status, reason[:500], now
    fields = ["status", "status_reason", "updated_at"]
    if status == Status.CONNECTED and previous != Status.CONNECTED:
        instance.last_connected_at = now
        fields.append("last_connected_at")
    if instance._state.adding:
        return
    instance.save(update_fields=fields)
    if previous != status:
        emit(principal, "integration_instance.status_changed", subject=("integration_instance", instance.pk),
             data={"from": previous, "to": status, "reason": reason[:500], "name": instance.name})


def _reason(instance, status):
    if status in (Status.PENDING_CONFIGURATION, Status.CONFIG_ERROR):
        first = config_errors(instance)[0]
        return f"config{first['pointer'] or ''}: {first['message']}"
    return ""


def _clean_name(name):
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValidationFailed(f"name: A name of 1 to {MAX_NAME} characters is required.",
                               [{"pointer": "/name", "message": "A name of 1 to 200 characters is required."}])
    return name.strip()


def _clean_config(config):
    if not isinstance(config, dict):
        raise ValidationFailed("config: An object.", [{"pointer": "/config", "message": "An object."}])
    secret = config.get("clientSecret")
    if secret is not None and not isinstance(secret, str):
        raise ValidationFailed("config.clientSecret: A string.", [{"pointer": "/config/clientSecret",
                                                                   "message": "A string."}])
    return config


def _save(instance):
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise Conflict(f"Another integration instance of this organization is named {instance.name!r}.",
                       code="CONFLICT") from None


def _definition_for_new_instance(principal, definition_id):
    definition = definitions.visible(principal).filter(pk=definition_id).first()
    if definition is None:
        raise ValidationFailed(f"integrationDefinitionId: No integration definition {definition_id}.",
                               [{"pointer": "/integrationDefinitionId",
                                 "message": f"No integration definition {definition_id}."}])
    if definition.status != IntegrationDefinition.Status.PUBLISHED:
        raise Conflict(f"The definition is {definition.status}: only PUBLISHED definitions get new instances.",
                       code="DEFINITION_NOT_PUBLISHED", status=definition.status)
    return definition


def create(principal, *, definition_id, name, config=None):
    """A new instance of a PUBLISHED definition, in the status its config puts it in."""
    require_org_admin(principal, "Creating an integration instance")
    definition = _definition_for_new_instance(principal, definition_id)
    instance = IntegrationInstance(organization=principal.organization, definition=definition,
                                   name=_clean_name(name), config=_clean_config(config or {}),
                                   created_by=principal.user)
    status = computed_status(instance, previous=Status.PENDING_CONFIGURATION)
    with transaction.atomic():
        set_status(principal, instance, status, _reason(instance, status))
        _save(instance)
        emit(principal, "integration_instance.created", subject=("integration_instance", instance.pk),
             data={"name": instance.name, "definitionId": definition.pk, "status": instance.status})
    return instance


def update(principal, instance_id, *, name=None, config=None, definition_id=None):
    """Rename, reconfigure (the config replaces the stored one) or move to another version of the same
    definition; the status follows."""
    require_org_admin(principal, "Changing an integration instance")
    with transaction.atomic():
        instance = get(principal, instance_id, lock=True)
        if name is not None:
            instance.name = _clean_name(name)
        if config is not None:
            instance.config = _clean_config(config)
        if definition_id is not None and definition_id != instance.definition_id:
            target = _definition_for_new_instance(principal, definition_id)
            if target.name != instance.definition.name or target.organization_id != instance.definition.organization_id:
                raise Invalid(f"integrationDefinitionId: {definition_id} is not a version of "
                              f"{instance.definition.name!r}.", code="VALIDATION_ERROR")
            instance.definition = target
        instance.updated_at = timezone.now()
        _save(instance)
        status = computed_status(instance)
        set_status(principal, instance, status, _reason(instance, status))
    return instance


def set_credentials(principal, instance_id, credentials):
    """Store an API key (`{"apiKey"}`) or basic credentials (`{"username", "password"}`), encrypted, per the
    definition's authType; the instance becomes CONNECTED when its config validates. For the OAuth2 client
    credentials grant, `{}` fetches a token now; for authType none, `{}` reconnects a disconnected instance."""
    require_org_admin(principal, "Setting an integration instance's credentials")
    definition = get(principal, instance_id).definition
    if definition.auth_type == AuthType.OAUTH2 and (definition.oauth2_config or {}).get("grant") == "client_credentials":
        if credentials:
            raise ValidationFailed("A client credentials instance takes an empty object: its client id and secret "
                                   "are the config's clientId and clientSecret (or the definition's).",
                                   [{"pointer": f"/{key}", "message": "Not for the client credentials grant."}
                                    for key in sorted(credentials)])
        from connectors.integrations import oauth

        return oauth.connect_client_credentials(principal, instance_id)
    with transaction.atomic():
        instance = get(principal, instance_id, lock=True)
        auth_type = instance.definition.auth_type
        if auth_type == AuthType.API_KEY:
            expected = {"apiKey"}
        elif auth_type == AuthType.BASIC:
            expected = {"username", "password"}
        elif auth_type == AuthType.NONE:
            if credentials:
                raise ValidationFailed("An authType none instance takes an empty object (which reconnects it).",
                                       [{"pointer": f"/{key}", "message": "The definition needs no credentials."}
                                        for key in sorted(credentials)] if isinstance(credentials, dict) else
                                       [{"pointer": "", "message": "An empty object is required."}])
            store_credentials(principal, instance, None, reconnect=True)
            return instance
        else:
            raise Conflict(f"The definition's authType is {auth_type}: this instance connects through OAuth2 "
                           "(auth/oauth2/start).", code="CONFLICT", authType=auth_type)
        if not isinstance(credentials, dict) or set(credentials) != expected or not all(
                isinstance(credentials[key], str) and credentials[key] and credentials[key].isprintable()
                for key in expected):
            names = " and ".join(sorted(expected))
            raise ValidationFailed(f"An authType {auth_type} instance takes {names} (non-empty strings without "
                                   "control characters), only.",
                                   [{"pointer": f"/{key}", "message": "A non-empty printable string is required."}
                                    for key in sorted(expected)])
        store_credentials(principal, instance, dict(credentials), reconnect=True)
    return instance


def store_credentials(principal, instance, credentials, *, expires_at=None, reconnect=False):
    """Replace the instance's credentials (inside a transaction, the instance locked) and recompute its
    status; `reconnect` lifts DISCONNECTED and AUTH_ERROR."""
    instance.credentials = credentials
    instance.token_expires_at = expires_at
    instance.credentials_version += 1
    instance.updated_at = timezone.now()
    instance.save(update_fields=["credentials", "token_expires_at", "credentials_version", "updated_at"])
    previous = Status.PENDING_AUTHENTICATION if reconnect else instance.status
    status = computed_status(instance, previous=previous)
    set_status(principal, instance, status, _reason(instance, status))


def disconnect(principal, instance_id):
    """DISCONNECTED: the credentials are dropped; connecting again (credentials or OAuth2) lifts it."""
    require_org_admin(principal, "Disconnecting an integration instance")
    with transaction.atomic():
        instance = get(principal, instance_id, lock=True)
        instance.credentials, instance.token_expires_at = None, None
        instance.credentials_version += 1
        instance.save(update_fields=["credentials", "token_expires_at", "credentials_version"])
        set_status(principal, instance, Status.DISCONNECTED, "Disconnected by an administrator.")
    return instance


def delete(principal, instance_id):
    require_org_admin(principal, "Deleting an integration instance")
    with transaction.atomic():
        instance = get(principal, instance_id, lock=True)
        emit(principal, "integration_instance.deleted", subject=("integration_instance", instance.pk),
             data={"name": instance.name, "definitionId": instance.definition_id})
        # Its grants go with it (revoked, not erased: the grant admin keeps who had access).
        AccessGrant.objects.filter(organization_id=instance.organization_id, resource_type=INTEGRATION_INSTANCE,
                                   resource_id=instance.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=getattr(principal, "user", None))
        instance.delete()
