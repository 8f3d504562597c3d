"""The integrations in the Django admin: definitions, instances and the execution log, scoped to the
organizations the user administers.

- Definitions: the organization's own (its admins create and edit them) and the platform's (visible to every
  organization once published, read-only; superusers edit them). The JSON parts (methods, config schema and
  defaults, OAuth2 and API key config) are edited as text and judged by the definition services, whose JSON
  pointers put each problem on its field. A DRAFT is editable; from PUBLISHED on a definition is immutable
  and read-only here. Its page has the lifecycle buttons (Publish, Deprecate, Archive: only the transitions
  its status allows), a "new draft version" button, and a table of its methods.
- Instances: added and changed through the instance services; their page sets credentials (an API key or a
  username and password, never prefilled, never shown), connects through OAuth2 (the authorization code
  grant, coming back to this admin's callback view) or the client credentials grant, tests the connection
  and disconnects. Only whether credentials are stored, and the token's expiry, are shown. Its access grants
  (who of the members may execute its methods: editors and managers) are listed there too.
- Executions: a read-only log.

Every change goes through connectors/integrations/{definitions,instances,oauth,execution}.py as the admin
user (tenancy's admin_principal), so the API's authorization, checks and messages apply here too. A form
calls its service while it is validated (in a savepoint of the admin's transaction), so every refusal lands
on the form, and `save_model` only adopts the row the service saved.
"""

import hashlib
import json

import semver
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from connectors.integrations import definitions, execution, instances, oauth
from connectors.integrations.models import (
    AuthType,
    IntegrationDefinition,
    IntegrationExecution,
    IntegrationInstance,
)
from connectors.sharing import INTEGRATION_INSTANCE
from plexica.access.admin import grants_panel
from plexica.adminsite.badges import badge
from plexica.adminsite.display import person_name
from plexica.adminsite.scope import current_organization
from plexica.errors import Conflict, DomainError
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    OrganizationScopeMixin,
    SameOrganizationForm,
    admin_principal,
    admin_url,
    apply_to_selected,
    short_time,
)
from plexica.tenancy.principal import Principal

DefinitionStatus = IntegrationDefinition.Status
InstanceStatus = IntegrationInstance.Status
# What organizations see of the platform's definitions (definitions.visible: drafts and archived ones are the
# superusers' business).
OFFERED = (DefinitionStatus.PUBLISHED, DefinitionStatus.DEPRECATED)
DEFINITION_TONES = {DefinitionStatus.DRAFT: "blue", DefinitionStatus.PUBLISHED: "green",
                    DefinitionStatus.DEPRECATED: "yellow", DefinitionStatus.ARCHIVED: "grey"}
INSTANCE_TONES = {InstanceStatus.CONNECTED: "green", InstanceStatus.PENDING_CONFIGURATION: "blue",
                  InstanceStatus.PENDING_AUTHENTICATION: "blue", InstanceStatus.DISCONNECTED: "grey",
                  InstanceStatus.AUTH_ERROR: "red", InstanceStatus.CONFIG_ERROR: "red"}
# The lifecycle buttons: (target status, button label, tone, what it does), in the page's order.
LIFECYCLE = [
    (DefinitionStatus.PUBLISHED, "Publish", "primary",
     "makes it immutable and lets instances be created from it."),
    (DefinitionStatus.DEPRECATED, "Deprecate", "",
     "no new instances; the existing ones keep working."),
    (DefinitionStatus.ARCHIVED, "Archive", "danger",
     "its instances stop executing (move them to a newer version first)."),
]
DONE = {DefinitionStatus.PUBLISHED: "Published", DefinitionStatus.DEPRECATED: "Deprecated",
        DefinitionStatus.ARCHIVED: "Archived"}
# instances.public_config's mask of the config's client secret.
MASK = "********"
OAUTH_SESSION_KEY = "plexica_integration_oauth_states"
OAUTH_PENDING_MAX = 10  # authorizations in progress remembered per session
RECENT_EXECUTIONS = 10
JSON_TEXT_STYLE = ("font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; "
                   "line-height: 1.45")


def _pretty(value):
    return json.dumps(value, indent=2, ensure_ascii=False)


def json_block(value, empty="-"):
    """A JSON value as an indented, scrollable block (read-only pages)."""
    if value in (None, "", [], {}):
        return empty
    return format_html('<pre class="plexica-pre" style="max-height: 28rem; overflow: auto">{}</pre>',
                       _pretty(value))


def definition_badge(definition):
    return badge(definition.get_status_display(), DEFINITION_TONES.get(definition.status, "grey"))


def instance_badge(instance):
    return badge(instance.get_status_display(), INSTANCE_TONES.get(instance.status, "grey"))


def outcome_badge(run):
    if not run.outcome:
        return badge(run.get_status_display(), "blue")
    if run.outcome == "SUCCESS":
        return badge("Success", "green")
    return badge(run.outcome, "yellow" if run.outcome in ("RATE_LIMIT_EXCEEDED", "CIRCUIT_OPEN") else "red")


def definition_label(definition):
    """"Stub API 1.0.0 · platform": how pickers and lists name a definition."""
    return f"{definition.name} {definition.version}" + (" · platform" if definition.is_platform else "")


def rate_limit_text(limits):
    if not limits:
        return "none"
    return f"{limits.get('requestsPerMinute')}/min, bursts of {limits.get('burstLimit') or 1}"


def methods_table(definition):
    """The definition's methods, one row each: name, HTTP method and path, timeout, rate limit, idempotent."""
    methods = [method for method in definition.methods or [] if isinstance(method, dict)]
    if not methods:
        return format_html('<p id="definition-methods-none">{}</p>', "No methods yet.")

    def row(method):
        request = method.get("request") or {}
        return (method.get("name"), method.get("description") or "", request.get("method", "GET"),
                request.get("path", "/"), method.get("timeoutMs", definitions.DEFAULT_TIMEOUT_MS),
                rate_limit_text(method.get("rateLimits")), "yes" if method.get("idempotent") else "no")

    rows = format_html_join("", (
        "<tr><td><code>{}</code><br><span class=\"plexica-subtle\">{}</span></td><td><code>{} {}</code></td>"
        "<td class=\"plexica-nowrap\">{} ms</td><td>{}</td><td>{}</td></tr>"),
        (row(method) for method in methods))
    return format_html(
        '<table class="plexica-table" id="definition-methods"><thead><tr><th>method</th><th>request</th>'
        "<th>timeout</th><th>rate limit</th><th>idempotent (retried)</th></tr></thead>"
        "<tbody>{}</tbody></table>", rows)


# Forms


class JSONText(forms.JSONField):
    """A JSON document edited as indented text. Empty text is `empty()` (a list, an object) or None."""

    def __init__(self, *, empty=None, rows=8, **kwargs):
        self.empty = empty
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", UnfoldAdminTextareaWidget(attrs={
            "rows": rows, "spellcheck": "false", "autocomplete": "off", "style": JSON_TEXT_STYLE}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return "" if value is None else _pretty(value)

    def to_python(self, value):
        value = super().to_python(value)
        if value is None and self.empty is not None:
            return self.empty()
        return value


class BlankTextInput(UnfoldAdminTextInputWidget):
    """A text input that never shows a value back (a credential's user name)."""

    def format_value(self, value):
        return None


def service_problems(exc):
    """[(pointer, message)] of a service's refusal: its JSON pointers, or ("", message)."""
    problems = (exc.extra or {}).get("errors") if isinstance(exc.extra, dict) else None
    if problems:
        return [(problem.get("pointer") or "", problem.get("message") or "") for problem in problems]
    return [("", exc.message or str(exc))]


def add_service_errors(form, exc, pointer_fields):
    """Put a service's refusal on the form: each JSON pointer's problem on the field its first segment names
    ("/methods/0/paramSchema" on methods), with the pointer, the rest (and pointer-less messages that start
    with a field's API name, "config: An object.") on top."""
    for pointer, message in service_problems(exc):
        head = pointer.lstrip("/").split("/", 1)[0]
        if not pointer and ":" in message:
            head = message.split(":", 1)[0]
        field = pointer_fields.get(head)
        if field in form.fields and not form.fields[field].disabled:
            deeper = pointer and pointer != f"/{head}"
            form.add_error(field, f"{pointer}: {message}" if deeper else message)
        else:
            form.add_error(None, f"{pointer}: {message}" if pointer else message)


class ServiceForm(SameOrganizationForm):
    """A model form whose save is one service call, made once the form's own checks pass, inside a savepoint:
    the service's refusals land on the form (see add_service_errors) and change nothing; a valid form has been
    saved (`self.saved`). The admin sets `request` on the form class (get_form)."""

    request = None
    pointer_fields = {}

    def call_service(self, cleaned):
        raise NotImplementedError

    @property
    def adding(self):
        return self.instance._state.adding

    def _get_validation_exclusions(self):
        # The unique constraints (per organization and name) are the service's to judge, in its own words;
        # Django's check would name the constraint. The form fields still check these values.
        return {*super()._get_validation_exclusions(), "organization", "name"}

    def _post_clean(self):
        super()._post_clean()
        if self._errors:
            return
        try:
            with transaction.atomic():
                self.saved = self.call_service(self.cleaned_data)
        except DomainError as exc:
            add_service_errors(self, exc, self.pointer_fields)


def definition_principal(request, organization):
    """The admin user as the definition services' principal: in the definition's organization; for the
    platform's, in the organization in view (none for a superuser who sees every one)."""
    if organization is not None:
        return admin_principal(request, organization)
    current = current_organization(request)
    if current is not None:
        return admin_principal(request, current)
    return Principal(organization=None, user=request.user, is_superuser=request.user.is_superuser)


DEFINITION_SERVICE_FIELDS = ("name", "description", "version", "type", "auth_type", "methods",
                             "config_schema", "default_config", "oauth2_config", "api_key_config",
                             "result_check", "oauth_client_id")


class DefinitionForm(ServiceForm):
    pointer_fields = {"name": "name", "description": "description", "version": "version", "type": "type",
                      "authType": "auth_type", "methods": "methods", "configSchema": "config_schema",
                      "defaultConfig": "default_config", "oauth2Config": "oauth2_config",
                      "apiKeyConfig": "api_key_config", "resultCheck": "result_check",
                      "oauthClientId": "oauth_client_id", "oauthClientSecret": "oauth_client_secret"}

    methods = JSONText(empty=list, rows=18, help_text=(
        "A JSON list; each method: {name, description, paramSchema, resultSchema, rateLimits "
        "{requestsPerMinute, burstLimit}, timeoutMs (100 to 300000, 10000 by default), request "
        "{method, path, query, headers, body}, idempotent}. In the request, {param} inside a string takes "
        "the parameter's text; a string that is exactly \"{param}\" its JSON value. Idempotent methods (GET, "
        "HEAD, PUT, DELETE by default) are retried."))
    config_schema = JSONText(empty=dict, rows=6, label="Config schema", help_text=(
        "A JSON Schema (2020-12) for the instances' config; $ref only inside the schema."))
    default_config = JSONText(empty=dict, rows=4, label="Default config", help_text=(
        "A JSON object the instances' config is merged over, e.g. "
        "{\"baseUrl\": \"https://api.example.com\"}."))
    oauth2_config = JSONText(rows=6, label="OAuth2 config", help_text=(
        "For auth type OAuth2: {authorizationUrl, tokenUrl, scope, grant: authorization_code (PKCE S256) | "
        "client_credentials}. Empty otherwise."))
    api_key_config = JSONText(rows=3, label="API key config", help_text=(
        "For auth type API key: {in: header | query, name, prefix}; empty sends the key as a bearer token "
        "(the Authorization header)."))
    oauth_client_secret = forms.CharField(
        label="OAuth client secret", required=False, strip=False, max_length=500,
        widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the stored one.")

    class Meta:
        model = IntegrationDefinition
        labels = {"oauth_client_id": "OAuth client id"}
        fields = ["organization", "name", "version", "description", "type", "methods", "config_schema",
                  "default_config", "result_check", "auth_type", "oauth2_config", "oauth_client_id",
                  "oauth_client_secret", "api_key_config"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["oauth_client_secret"] = ""  # never sent to the browser, not even hidden

    def call_service(self, cleaned):
        fields = {name: cleaned[name] for name in DEFINITION_SERVICE_FIELDS if name in cleaned}
        if cleaned.get("oauth_client_secret"):
            fields["oauth_client_secret"] = cleaned["oauth_client_secret"]
        if self.adding:
            organization = cleaned.get("organization")
            return definitions.create(definition_principal(self.request, organization),
                                      platform=organization is None, **fields)
        return definitions.update(definition_principal(self.request, self.instance.organization),
                                  self.instance.pk, **fields)


class InstanceForm(ServiceForm):
    pointer_fields = {"name": "name", "config": "config", "integrationDefinitionId": "definition"}

    config = JSONText(empty=dict, rows=6, help_text=(
        "A JSON object merged over the definition's default config and checked against its config schema. "
        "clientId and clientSecret name the organization's own OAuth app (the secret is shown masked; leave "
        f"{MASK} to keep it)."))

    class Meta:
        model = IntegrationInstance
        fields = ["organization", "name", "definition", "config"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored_config = dict(self.instance.config or {}) if not self.adding else {}
        if not self.adding:
            self.initial["config"] = instances.public_config(self.instance)
        field = self.fields.get("definition")
        if field is not None:
            field.label_from_instance = definition_label
            for link in ("can_add_related", "can_change_related", "can_delete_related"):
                setattr(field.widget, link, False)  # a definition is picked here, not made or changed
            if not self.adding and not field.disabled:
                # Another PUBLISHED version of the same definition (the instance services' rule), or this one.
                current = self.instance.definition
                field.queryset = IntegrationDefinition.objects.filter(
                    Q(pk=current.pk) | Q(name=current.name, organization_id=current.organization_id,
                                         status=DefinitionStatus.PUBLISHED)).select_related("organization")
                field.help_text = "Move the instance to another published version of its definition."

    def _config(self, config):
        stored = self._stored_config
        if isinstance(config, dict) and config.get("clientSecret") == MASK and "clientSecret" in stored:
            return {**config, "clientSecret": stored["clientSecret"]}
        return config

    def call_service(self, cleaned):
        config = self._config(cleaned.get("config"))
        if self.adding:
            principal = admin_principal(self.request, cleaned["organization"])
            return instances.create(principal, definition_id=cleaned["definition"].pk, name=cleaned["name"],
                                    config=config)
        return instances.update(admin_principal(self.request, self.instance.organization), self.instance.pk,
                                name=cleaned["name"], config=config, definition_id=cleaned["definition"].pk)


class CredentialsForm(forms.Form):
    """An API key, or a username and password: typed each time, never shown back."""

    def __init__(self, auth_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        secret = {"render_value": False, "attrs": {"autocomplete": "new-password"}}
        if auth_type == AuthType.API_KEY:
            self.fields["apiKey"] = forms.CharField(label="API key", max_length=4096, strip=False,
                                                    widget=UnfoldAdminPasswordWidget(**secret))
        else:
            self.fields["username"] = forms.CharField(label="Username", max_length=500, strip=False,
                                                      widget=BlankTextInput(attrs={"autocomplete": "off"}))
            self.fields["password"] = forms.CharField(label="Password", max_length=4096, strip=False,
                                                      widget=UnfoldAdminPasswordWidget(**secret))


# Shared admin behaviour


class IntegrationAdmin(OrganizationScopedAdmin):
    """An unknown (or another organization's) object is a 404 here, not Django's redirect to the index."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} {unquote(object_id)}.")

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        if self.several_organizations_in_view(request):
            return shown
        return [name for name in shown if name != "organization"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def save_model(self, request, obj, form, change):
        # The form's service call saved the row: adopt it.
        obj.pk = form.saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited here, and form.save_m2m() would write the form's instance

    def object_or_404(self, request, object_id, *, quoted=True):
        """The object of a URL's (quoted) id, or of a raw pk (`quoted=False`), among the ones in view."""
        obj = self.get_object(request, unquote(object_id) if quoted else object_id)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} {object_id}.")
        return obj


# Definitions


class DefinitionOwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [("platform", "The platform's"), ("own", "The organization's own")]

    def queryset(self, request, queryset):
        if self.value() == "platform":
            return queryset.filter(organization__isnull=True)
        if self.value() == "own":
            return queryset.filter(organization__isnull=False)
        return queryset


@admin.register(IntegrationDefinition)
class IntegrationDefinitionAdmin(IntegrationAdmin):
    """Integration definitions: the organization's own and the platform's (read-only but for superusers)."""

    form = DefinitionForm
    main_fields = ["organization", "name", "version", "description", "type"]
    record_fields = ["id", "status_badge", "published_at", "created_by_name", "created_at", "updated_at"]
    edit_fieldsets = [
        ("Methods", ["methods"]),
        ("Configuration", ["config_schema", "default_config", "result_check"]),
        ("Authentication", ["auth_type", "oauth2_config", "oauth_client_id", "oauth_client_secret",
                            "api_key_config"]),
    ]
    view_fieldsets = [
        (None, ["owner", "name", "version", "description", "type"]),
        ("Methods", ["methods_json"]),
        ("Configuration", ["config_schema_json", "default_config_json", "result_check"]),
        ("Authentication", ["auth_type", "oauth2_config_json", "oauth_client_id_text", "client_secret_state",
                            "api_key_config_json"]),
    ]
    # The rows of the read-only Authentication section that only one auth type uses.
    auth_rows = {"oauth2_config_json": AuthType.OAUTH2, "oauth_client_id_text": AuthType.OAUTH2,
                 "client_secret_state": AuthType.OAUTH2, "api_key_config_json": AuthType.API_KEY}
    list_display = ["name", "version", "status_badge", "auth_type_label", "owner", "instance_count",
                    "updated"]
    list_filter = ["status", "auth_type", DefinitionOwnerFilter]
    search_fields = ["name", "description"]
    ordering = ["name", "version", "id"]
    change_form_template = "admin/integrations/integrationdefinition/change_form.html"

    # Who sees and changes what

    def get_queryset(self, request):
        # Not the scoped base's filter: the platform's definitions (organization None) are read by everyone.
        queryset = super(OrganizationScopedAdmin, self).get_queryset(request).select_related(
            "organization", "created_by")
        used = IntegrationInstance.objects.filter(definition=OuterRef("pk"))
        if not self.sees_everything(request):
            ids = self.admin_org_ids(request)
            platform = Q(organization__isnull=True)
            if not request.user.is_superuser:
                platform &= Q(status__in=OFFERED)
            queryset = queryset.filter(Q(organization__in=ids) | platform)
            used = used.filter(organization__in=ids)  # a platform definition counts the ones in view only
        counted = used.order_by().values("definition").annotate(total=Count("pk")).values("total")
        return queryset.annotate(instance_total=Coalesce(Subquery(counted, output_field=IntegerField()), 0))

    def may_own(self, request, definition):
        """Moves the definition along its lifecycle, copies or deletes it: a superuser for the platform's, an
        admin of its organization for an organization's."""
        if definition.is_platform:
            return request.user.is_active and request.user.is_superuser
        return self.sees_everything(request) or definition.organization_id in self.admin_org_ids(request)

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.is_platform and not self.sees_everything(request):
            return self.may_manage(request)  # get_object found it among the offered ones
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return obj.status == DefinitionStatus.DRAFT and self.may_own(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        return self.may_own(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time: the services refuse definitions in use
        return actions

    # Fields

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            shown = [(title, [name for name in fields
                              if self.auth_rows.get(name, obj.auth_type) == obj.auth_type])
                     for title, fields in self.view_fieldsets]
            return [(title, {"fields": fields}) for title, fields in shown] + [
                ("Record", {"fields": self.record_fields})]
        main = [(None, {"fields": self.main_fields})]
        edit = [(title, {"fields": fields}) for title, fields in self.edit_fieldsets]
        return main + edit + ([] if obj is None else [("Record", {"fields": self.record_fields})])

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if not self.has_change_permission(request, obj):
            return [name for _title, fields in self.view_fieldsets for name in fields] + self.record_fields
        return self.record_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("organization")
        if field is not None and obj is None:
            if request.user.is_superuser:
                field.empty_label = "The platform (offered to every organization)"
                field.help_text = ("Empty for a platform definition, offered to every organization once "
                                   "published.")
            else:
                field.required = True
                field.help_text = "The organization whose definition it is (only its admins change it)."
        return form

    # Columns and read-only fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return definition_badge(obj)

    @admin.display(description="auth type", ordering="auth_type")
    def auth_type_label(self, obj):
        return obj.get_auth_type_display()

    @admin.display(description="owner", ordering="organization__name")
    def owner(self, obj):
        return badge("Platform", "blue") if obj.is_platform else obj.organization.name

    @admin.display(description="instances", ordering="instance_total")
    def instance_count(self, obj):
        total = getattr(obj, "instance_total", 0)
        if not total:
            return "0"
        return format_html('<a href="{}">{}</a>', admin_url("connectors_integrationinstance_changelist",
                                                            query={"definition__id__exact": obj.pk}), total)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj):
        return short_time(obj.updated_at)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person_name(obj.created_by) if obj.created_by_id else "a key or the system"

    @admin.display(description="methods")
    def methods_json(self, obj):
        return json_block(obj.methods, "No methods.")

    @admin.display(description="config schema")
    def config_schema_json(self, obj):
        return json_block(obj.config_schema)

    @admin.display(description="default config")
    def default_config_json(self, obj):
        return json_block(obj.default_config)

    @admin.display(description="OAuth2 config")
    def oauth2_config_json(self, obj):
        return json_block(obj.oauth2_config)

    @admin.display(description="API key config")
    def api_key_config_json(self, obj):
        return json_block(obj.api_key_config)

    @admin.display(description="OAuth client id")
    def oauth_client_id_text(self, obj):
        return obj.oauth_client_id or "Not set (the instances' config names theirs)"

    @admin.display(description="OAuth client secret")
    def client_secret_state(self, obj):
        return "Stored (encrypted, never shown)" if obj.oauth_client_secret else "Not set"

    # The definition page: lifecycle buttons and the methods table

    def get_urls(self):
        lifecycle = path("<path:object_id>/lifecycle/", self.admin_site.admin_view(self.lifecycle_view),
                         name="connectors_integrationdefinition_lifecycle")
        return [lifecycle, *super().get_urls()]  # before the "<path:object_id>/" catch-all

    @staticmethod
    def next_version(definition):
        try:
            return str(semver.Version.parse(definition.version).bump_patch())
        except ValueError:
            return None

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            can_act = self.may_own(request, obj)
            transitions = [{"to": to, "label": label, "tone": tone, "help": explained, "verb": label.lower()}
                           for to, label, tone, explained in LIFECYCLE
                           if obj.status in definitions.TRANSITIONS[to]] if can_act else []
            if obj.is_platform and not can_act:
                note = "A platform definition: read-only here (superusers change it)."
            elif obj.status != DefinitionStatus.DRAFT:
                note = f"{obj.get_status_display()}: immutable. To change it, make a new draft version."
            else:
                note = "A draft: change it freely, then publish it."
            context.update({
                "lifecycle_url": admin_url("connectors_integrationdefinition_lifecycle", obj.pk),
                "status_html": definition_badge(obj), "lifecycle_note": note, "transitions": transitions,
                "can_act": can_act, "next_version": self.next_version(obj) if can_act else None,
                "methods_html": methods_table(obj), "definition": obj,
            })
        return super().render_change_form(request, context, add, change, form_url, obj)

    def lifecycle_view(self, request, object_id):
        """POST `to`: PUBLISHED, DEPRECATED or ARCHIVED (definitions.transition), or new_version (a DRAFT copy
        with the next patch version)."""
        definition = self.object_or_404(request, object_id)
        if not self.may_own(request, definition):
            raise PermissionDenied
        back = admin_url("connectors_integrationdefinition_change", definition.pk)
        if request.method != "POST":
            return HttpResponseRedirect(back)
        principal = definition_principal(request, definition.organization)
        to = request.POST.get("to")
        try:
            if to == "new_version":
                copy = self._new_version(principal, definition)
                self.message_user(request, f"Made {copy} as a draft copy of {definition}: change it, then "
                                           "publish it.", messages.SUCCESS)
                return HttpResponseRedirect(admin_url("connectors_integrationdefinition_change", copy.pk))
            if to not in DONE:
                self.message_user(request, "Pick one of the buttons of the definition page.",
                                  messages.WARNING)
            else:
                definitions.transition(principal, definition.pk, to)
                self.message_user(request, f"{DONE[to]} {definition}.", messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(back)

    def _new_version(self, principal, definition):
        version = self.next_version(definition)
        if version is None:
            raise Conflict(f"{definition.version} is not a semantic version: add the new version by hand.")
        fields = {name: getattr(definition, name) for name in DEFINITION_SERVICE_FIELDS}
        fields["version"] = version
        if definition.oauth_client_secret:
            fields["oauth_client_secret"] = definition.oauth_client_secret
        return definitions.create(principal, platform=definition.is_platform, **fields)

    # Deleting, through the service (which refuses a definition in use, naming the instances)

    def get_deleted_objects(self, objs, request):
        # The service decides (Django's list would name the instances of every organization, and refuse).
        objs = list(objs)
        return [definition_label(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:  # raised by delete_model; the admin's transaction rolled back
            self.message_user(request, exc.message, messages.ERROR)
            back = admin_url("connectors_integrationdefinition_change", unquote(object_id))
            return HttpResponseRedirect(back)

    def delete_model(self, request, obj):
        principal = definition_principal(request, obj.organization)
        if principal.organization is None:
            # A superuser who sees every organization: the service names the instances relative to the
            # principal's organization, and here there is none.
            in_use = list(obj.instances.select_related("organization")[:20])
            if in_use:
                names = ", ".join(f"{i.pk} ({i.name}, {i.organization.name})" for i in in_use)
                raise Conflict(f"The definition is in use by {names}: delete or move those instances first.")
        definitions.delete(principal, obj.pk)


# Instances


@admin.register(IntegrationInstance)
class IntegrationInstanceAdmin(IntegrationAdmin):
    """Integration instances: configured through the instance services; connected, tested and disconnected
    from their page."""

    form = InstanceForm
    # The status, its reason, credentials stored, token expiry and times are on the page's Connection panel.
    record_fields = ["id", "created_by_name", "created_at", "updated_at"]
    list_display = ["name", "definition_name", "status_badge", "last_used", "last_connected", "organization"]
    list_filter = ["status", "definition", "organization"]
    list_select_related = ["organization", "definition"]
    search_fields = ["name"]
    ordering = ["name", "id"]
    actions = ["disconnect_selected"]
    change_form_template = "admin/integrations/integrationinstance/change_form.html"

    def get_queryset(self, request):
        # Credentials are decrypted on load; only whether there are some is shown.
        return super().get_queryset(request).select_related("organization", "definition", "created_by")

    def get_fieldsets(self, request, obj=None):
        main = [(None, {"fields": ["organization", "name", "definition", "config"]})]
        return main if obj is None else main + [("Record", {"fields": self.record_fields})]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.record_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "definition":
            # PUBLISHED definitions the instance's organization may use: its own and the platform's. Not the
            # scoped base's choices, which would drop the platform's (organization None).
            kwargs["queryset"] = self.offered_definitions(request)
            return super(OrganizationScopeMixin, self).formfield_for_foreignkey(db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def offered_definitions(self, request):
        offered = IntegrationDefinition.objects.filter(status=DefinitionStatus.PUBLISHED)
        if not self.sees_everything(request):
            ids = self.admin_org_ids(request)
            offered = offered.filter(Q(organization__in=ids) | Q(organization__isnull=True))
        return offered.select_related("organization").order_by("name", "version")

    # Columns and read-only fields

    @admin.display(description="definition", ordering="definition__name")
    def definition_name(self, obj):
        return definition_label(obj.definition)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        if obj.status_reason and obj.status != InstanceStatus.CONNECTED:
            return format_html('{}<br><span class="plexica-subtle">{}</span>', instance_badge(obj),
                               obj.status_reason[:120])
        return instance_badge(obj)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj):
        return short_time(obj.last_used_at)

    @admin.display(description="last connected", ordering="last_connected_at")
    def last_connected(self, obj):
        return short_time(obj.last_connected_at)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return person_name(obj.created_by) if obj.created_by_id else "a key or the system"

    # The instance page: connect, test, disconnect; its newest executions

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("oauth2/callback/", view(self.oauth2_callback_view),
                 name="connectors_integrationinstance_oauth2_callback"),
            path("<path:object_id>/actions/", view(self.action_view),
                 name="connectors_integrationinstance_action"),
            path("<path:object_id>/credentials/", view(self.credentials_view),
                 name="connectors_integrationinstance_credentials"),
        ]
        return [*own, *super().get_urls()]  # before the "<path:object_id>/" catch-all

    def oauth2_redirect_uri(self, request):
        """Where the provider sends the user back: this admin's callback view (register it there)."""
        return request.build_absolute_uri(admin_url("connectors_integrationinstance_oauth2_callback"))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            definition = obj.definition
            oauth2 = definition.auth_type == AuthType.OAUTH2
            grant = (definition.oauth2_config or {}).get("grant") if oauth2 else None
            runs = list(IntegrationExecution.objects.filter(organization_id=obj.organization_id, instance=obj)
                        .order_by("-created_at", "-pk")[:RECENT_EXECUTIONS])
            context.update({
                "action_url": admin_url("connectors_integrationinstance_action", obj.pk),
                "credentials_url": admin_url("connectors_integrationinstance_credentials", obj.pk),
                "can_act": self.has_change_permission(request, obj), "instance": obj,
                "status_html": instance_badge(obj), "auth_type": definition.auth_type, "grant": grant,
                "grant_label": grant.replace("_", " ") if grant else None,
                "takes_credentials": definition.auth_type in (AuthType.API_KEY, AuthType.BASIC),
                "connected": obj.status == InstanceStatus.CONNECTED,
                "redirect_uri": self.oauth2_redirect_uri(request) if grant == "authorization_code" else None,
                "definition_url": admin_url("connectors_integrationdefinition_change", definition.pk),
                "definition_label": definition_label(definition),
                "executions_html": self.executions_table(runs),
                "grants_html": grants_panel(INTEGRATION_INSTANCE, obj),
                "executions_url": admin_url("connectors_integrationexecution_changelist",
                                            query={"instance__id__exact": obj.pk}),
            })
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def executions_table(runs):
        if not runs:
            return format_html('<p id="instance-executions-none">{}</p>', "No executions yet.")
        rows = format_html_join("", (
            "<tr><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>"
            "<td class=\"plexica-error-cell\">{}</td></tr>"), (
            (admin_url("connectors_integrationexecution_change", run.pk), short_time(run.created_at),
             run.method, outcome_badge(run), run.http_status or "-",
             "-" if run.duration_ms is None else f"{run.duration_ms} ms", run.message[:160])
            for run in runs))
        return format_html(
            '<table class="plexica-table" id="instance-executions"><thead><tr><th>when</th><th>method</th>'
            "<th>outcome</th><th>status</th><th>duration</th><th>message</th></tr></thead>"
            "<tbody>{}</tbody></table>", rows)

    def _acting_on(self, request, object_id, *, quoted=True):
        instance = self.object_or_404(request, object_id, quoted=quoted)
        if not self.has_change_permission(request, instance):
            raise PermissionDenied
        return instance, admin_url("connectors_integrationinstance_change", instance.pk)

    def action_view(self, request, object_id):
        """POST `action`: test, connect (client credentials), oauth2 (start the authorization) or disconnect,
        through the integration services as the admin user."""
        instance, back = self._acting_on(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(back)
        principal = admin_principal(request, instance.organization)
        action = request.POST.get("action")
        try:
            if action == "test":
                ok, message = execution.test_connection(principal, instance.pk)
                verdict = "succeeded" if ok else "failed"
                self.message_user(request, f"Connection test of {instance} {verdict}: {message}",
                                  messages.SUCCESS if ok else messages.ERROR)
            elif action == "connect":
                connected = instances.set_credentials(principal, instance.pk, {})
                how = "the provider issued a token" if instance.definition.auth_type == AuthType.OAUTH2 else \
                    "it needs no credentials"
                self.message_user(request, f"Connected {instance} ({how}): it is now "
                                           f"{connected.get_status_display().lower()}.", messages.SUCCESS)
            elif action == "oauth2":
                url, state = oauth.start(principal, instance.pk, self.oauth2_redirect_uri(request))
                self._remember_state(request, state, instance.pk)
                return HttpResponseRedirect(url)
            elif action == "disconnect":
                instances.disconnect(principal, instance.pk)
                self.message_user(request, f"Disconnected {instance}: its credentials were dropped.",
                                  messages.SUCCESS)
            else:
                self.message_user(request, "Pick one of the buttons of the instance page.", messages.WARNING)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(back)

    # OAuth2: the state is the services' (single-use, bound to the instance); the session remembers which
    # instance each state of this browser is for, so the callback comes back to the session that started it.

    @staticmethod
    def _state_key(state):
        return hashlib.sha256(state.encode()).hexdigest()

    def _remember_state(self, request, state, instance_id):
        pending = dict(request.session.get(OAUTH_SESSION_KEY) or {})
        pending[self._state_key(state)] = instance_id
        request.session[OAUTH_SESSION_KEY] = dict(list(pending.items())[-OAUTH_PENDING_MAX:])

    def _recall_state(self, request, state):
        pending = dict(request.session.get(OAUTH_SESSION_KEY) or {})
        instance_id = pending.pop(self._state_key(state), None) if state else None
        request.session[OAUTH_SESSION_KEY] = pending
        return instance_id

    def oauth2_callback_view(self, request):
        """GET ?code&state (or ?error) from the provider: exchange the code (oauth.callback), then back to the
        instance page with what happened."""
        state = request.GET.get("state", "")
        instance_id = self._recall_state(request, state)
        if instance_id is None:
            self.message_user(request, "This OAuth2 authorization is unknown, already used or was started in "
                                       "another browser session: start it again from the instance page.",
                              messages.ERROR)
            return HttpResponseRedirect(admin_url("connectors_integrationinstance_changelist"))
        instance, back = self._acting_on(request, instance_id, quoted=False)  # a pk, from the session
        error = request.GET.get("error")
        if error:
            described = request.GET.get("error_description")
            self.message_user(request, f"The provider did not authorize {instance}: {error}"
                                       f"{f' ({described})' if described else ''}.", messages.ERROR)
            return HttpResponseRedirect(back)
        try:
            oauth.callback(admin_principal(request, instance.organization), instance.pk,
                           request.GET.get("code", ""), state)
            self.message_user(request, f"Connected {instance} through OAuth2.", messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(back)

    def credentials_view(self, request, object_id):
        """The credentials form (an API key, or a username and password): instances.set_credentials."""
        instance, back = self._acting_on(request, object_id)
        auth_type = instance.definition.auth_type
        if auth_type not in (AuthType.API_KEY, AuthType.BASIC):
            kind = instance.definition.get_auth_type_display()
            self.message_user(request, f"{instance} uses auth type {kind}: it takes no credentials typed "
                                       "here.", messages.WARNING)
            return HttpResponseRedirect(back)
        form = CredentialsForm(auth_type, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                principal = admin_principal(request, instance.organization)
                stored = instances.set_credentials(principal, instance.pk, dict(form.cleaned_data))
            except DomainError as exc:
                add_service_errors(form, exc, {name: name for name in form.fields})
            else:
                self.message_user(request, f"Stored the credentials of {instance}: it is now "
                                           f"{stored.get_status_display().lower()}.", messages.SUCCESS)
                return HttpResponseRedirect(back)
        request.current_app = self.admin_site.name
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "instance": instance, "original": instance, "title": f"Credentials of {instance}",
                   "change_url": back, "has_credentials": instance.has_credentials,
                   "auth_type_label": instance.definition.get_auth_type_display()}
        return TemplateResponse(request, "admin/integrations/integrationinstance/credentials.html", context)

    # Deleting, through the service

    def get_deleted_objects(self, objs, request):
        # The executions and OAuth states go with the instance; Django's list would load every execution.
        objs = list(objs)
        runs = IntegrationExecution.objects.filter(instance__in=objs).count()
        labels = [f"{obj} ({definition_label(obj.definition)})" for obj in objs]
        counts = {self.opts.verbose_name_plural: len(objs)}
        if runs:
            counts[IntegrationExecution._meta.verbose_name_plural] = runs
        return labels, counts, set(), []

    def delete_model(self, request, obj):
        instances.delete(admin_principal(request, obj.organization), obj.pk)

    def delete_queryset(self, request, queryset):
        for instance in queryset.select_related("organization"):
            instances.delete(admin_principal(request, instance.organization), instance.pk)

    @admin.action(description="Disconnect selected instances (drop their credentials)",
                  permissions=["change"])
    def disconnect_selected(self, request, queryset):
        apply_to_selected(self, request, queryset, instances.disconnect, "Disconnected", "instance")


# Executions


class OutcomeFilter(admin.SimpleListFilter):
    """The outcomes among the executions in view (SUCCESS, or the error codes)."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        found = model_admin.get_queryset(request).order_by("outcome").values_list("outcome", flat=True)
        found = found.distinct()
        return [(value or "-", value or "Not finished") for value in found]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(outcome="" if self.value() == "-" else self.value())
        return queryset


@admin.register(IntegrationExecution)
class IntegrationExecutionAdmin(IntegrationAdmin):
    """Executions of the instances' methods: a read-only log (parameters and results are never shown)."""

    fields = ["id", "organization", "instance_link", "method", "status", "outcome_badge", "http_status_code",
              "provider_status_code", "message", "details_json", "warnings_json", "attempts", "retry_after",
              "is_async", "actor", "request_id", "created_at", "deadline", "started_at", "finished_at",
              "duration"]
    readonly_fields = fields
    list_display = ["method", "instance_name", "outcome_badge", "http_status_code", "duration", "attempts",
                    "created", "organization"]
    list_filter = [OutcomeFilter, "status", "instance", "organization"]
    list_select_related = ["organization", "instance"]
    search_fields = ["method"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        # Parameters and results (encrypted) stay in the database: the log shows neither.
        return super().get_queryset(request).select_related("organization", "instance").defer("parameters",
                                                                                               "result")

    def has_add_permission(self, request):
        return False  # executions are made by the API and the workers

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="instance", ordering="instance__name")
    def instance_name(self, obj):
        return obj.instance.name

    @admin.display(description="instance")
    def instance_link(self, obj):
        return format_html('<a href="{}" class="text-link">{}</a>', admin_url(
            "connectors_integrationinstance_change", obj.instance_id), obj.instance.name)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj):
        return outcome_badge(obj)

    @admin.display(description="HTTP status", ordering="http_status")
    def http_status_code(self, obj):
        return obj.http_status or "-"

    @admin.display(description="provider's status")
    def provider_status_code(self, obj):
        return obj.provider_status or "-"

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj):
        return f"{obj.duration_ms} ms" if obj.duration_ms is not None else "-"

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return short_time(obj.created_at)

    @admin.display(description="actor")
    def actor(self, obj):
        return f"{obj.actor_type} {obj.actor_id}".strip() or "-"

    @admin.display(description="details")
    def details_json(self, obj):
        return json_block(obj.details)

    @admin.display(description="warnings")
    def warnings_json(self, obj):
        return json_block(obj.warnings, "None")
