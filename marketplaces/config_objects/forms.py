"""Forms of the config object admin: version content, validated by the services as the API validates it."""

import json

from django import forms
from django.core.exceptions import ValidationError

from marketplaces.config_objects.models import ConfigObject, ConfigObjectType
from marketplaces.config_objects.parsing import NORMALIZED, RAW
from marketplaces.config_objects.services import VersionInput

# The API's field names in parsing errors -> the form's fields, so an error shows next to its field.
FORM_FIELD_OF = {RAW: "raw_source_text", NORMALIZED: "normalized_payload_json"}
MONOSPACE = {"style": "font-family: monospace; width: 100%; box-sizing: border-box;", "spellcheck": "false"}


class VersionContentForm(forms.Form):
    """A version's content as the API takes it: raw source text and/or a JSON payload, with a reason."""

    raw_source_text = forms.CharField(
        label="Raw source text", required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 24, **MONOSPACE}),
        help_text="Markdown with YAML front matter for skills, agents and commands; JSON for MCP servers.",
    )
    normalized_payload_json = forms.CharField(
        label="Normalized payload (JSON)", required=False,
        widget=forms.Textarea(attrs={"rows": 8, **MONOSPACE}),
        help_text="Optional JSON; for a type without Markdown source it can replace the raw text.",
    )
    schema_version = forms.CharField(max_length=32, required=False)
    reason = forms.CharField(max_length=500, required=False,
                             help_text="Why this change (shown in the history).")

    def clean_normalized_payload_json(self):
        text = self.cleaned_data["normalized_payload_json"]
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"Not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None

    def clean(self):
        data = super().clean()
        empty = not data.get("raw_source_text") and data.get("normalized_payload_json") is None
        if empty and not self.errors:
            raise ValidationError("Give the raw source text or a JSON payload (or both).")
        return data

    def version_input(self):
        data = self.cleaned_data
        return VersionInput(raw_source_text=data["raw_source_text"] or None,
                            normalized_payload_json=data["normalized_payload_json"],
                            schema_version=data["schema_version"], reason=data["reason"])

    def add_domain_error(self, error):
        """Show a service's refusal (DomainError) on the field it names, else above the form."""
        api_field = error.extra.get("field")
        name = FORM_FIELD_OF.get(api_field)
        message = error.message or error.title
        if name in self.fields:
            message = message.removeprefix(f"{api_field}: ")  # shown next to that field already
        self.add_error(name if name in self.fields else None, message)


class NewVersionForm(VersionContentForm):
    base_version_id = forms.CharField(widget=forms.HiddenInput, required=False)


class AddConfigObjectForm(VersionContentForm):
    """A new config object with its first version; the admin limits the organizations and plugins offered."""

    organization = forms.ModelChoiceField(queryset=None)
    type = forms.ChoiceField(choices=ConfigObjectType.choices)
    source_mode = forms.ChoiceField(choices=ConfigObject.SourceMode.choices,
                                    initial=ConfigObject.SourceMode.CLOUD)
    plugins = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                             help_text="Plugins the new object joins (optional).")
    field_order = ["organization", "type", "source_mode", "plugins", "raw_source_text",
                   "normalized_payload_json", "schema_version", "reason"]

    def __init__(self, *args, organizations, plugins, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["plugins"].queryset = plugins

    def clean(self):
        data = super().clean()
        organization = data.get("organization")
        foreign = [plugin.plugin_id for plugin in data.get("plugins") or ()
                   if organization and plugin.organization_id != organization.pk]
        if foreign:
            self.add_error("plugins", f"Not plugins of {organization}: {', '.join(foreign)}.")
        return data
