"""Turn a rendered admin change form back into the POST data a browser would send."""

from django import forms


def _add_form(data, form):
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if value is None or value == "":
            continue
        widget = field.widget
        if isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                if part is not None:
                    data[f"{key}_{index}"] = str(part)
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item.pk if hasattr(item, "pk") else item) for item in value]
        else:
            data[key] = str(value)


def form_data(response):
    """The main form, every inline's management form and its existing rows, as POST data."""
    data = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form(data, formset.management_form)
        for form in formset.initial_forms:
            _add_form(data, form)
    return data


def errors_of(response):
    """Every error the admin shows on a change form: main form, inlines and formset-wide."""
    messages = []
    if response.context is None:
        return messages
    form = response.context["adminform"].form
    messages += [message for errors in form.errors.values() for message in errors]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        messages += list(formset.non_form_errors())
        for errors in formset.errors:
            messages += [message for field_errors in errors.values() for message in field_errors]
    return messages
