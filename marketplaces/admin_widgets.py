"""Autocomplete pickers for admin inlines that cost no query per row.

Django's AutocompleteSelect looks up each row's selected option with a query of its own, so an inline of
1,000 rows made 1,000 queries. Here the option comes from the row's relation, which the inline's queryset
already loaded (select_related); the picker still searches through the target admin's own, org-scoped,
autocomplete view.
"""

from django.contrib.admin.widgets import AutocompleteSelect, RelatedFieldWidgetWrapper


class PreloadedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete whose selected option is taken from `preloaded` ({str(pk): row}) when it has it."""

    preloaded = None

    def optgroups(self, name, value, attr=None):
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if not self.preloaded or not selected or not selected <= set(self.preloaded):
            return super().optgroups(name, value, attr)
        default = (None, [], 0)
        if not self.is_required and not self.allow_multiple_selected:
            default[1].append(self.create_option(name, "", "", False, 0))
        for key in sorted(selected):
            label = self.choices.field.label_from_instance(self.preloaded[key])
            default[1].append(self.create_option(name, key, label, True, len(default[1])))
        return [default]


class PreloadedAutocompleteInlineMixin:
    """For an inline: its `autocomplete_fields` use PreloadedAutocompleteSelect, fed from each row's relation
    (list the relations in the inline's select_related). `autocomplete_labels` ({field: label(row)}) names the
    selected rows ("CRM (plugin-crm)" rather than the model's str)."""

    autocomplete_labels = {}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = PreloadedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        label = self.autocomplete_labels.get(db_field.name)
        if formfield is not None and label is not None:
            formfield.label_from_instance = label
        return formfield

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        names = list(self.get_autocomplete_fields(request))

        class PreloadingFormSet(formset):
            def _construct_form(self, i, **form_kwargs):
                form = super()._construct_form(i, **form_kwargs)
                for name in names:
                    field = form.fields.get(name)
                    widget = getattr(field, "widget", None)
                    if isinstance(widget, RelatedFieldWidgetWrapper):
                        widget = widget.widget
                    if isinstance(widget, PreloadedAutocompleteSelect) and getattr(form.instance, f"{name}_id", None):
                        related = getattr(form.instance, name)
                        widget.preloaded = {str(related.pk): related}
                return form

        PreloadingFormSet.__name__ = formset.__name__
        return PreloadingFormSet
