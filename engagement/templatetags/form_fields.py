"""`{{ form.field|bootstrap_field }}`: crispy-forms' Bootstrap 5 field, written in Python.

The report form is the page every business sees first, and crispy's `as_crispy_field` renders
each field through a chain of about six templates (field, radio options, help text and errors,
attrs ...), over a hundred per page: about 90% of the page's time. This filter writes the same
markup directly (the same elements, attributes, classes, ids, error and help text placement
and the same whitespace, once runs of whitespace are collapsed), using Django's own widget
attribute logic (`BoundField.build_widget_attrs`, `Widget.get_context`), so the fields look and
behave exactly as before. Widgets it does not know (checkboxes, multi-widgets, a file input
with a current file) are handed to crispy unchanged.
"""

import html

from django import forms, template
from django.conf import settings
from django.forms.widgets import Input
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

register = template.Library()


def _esc(value) -> str:
    """conditional_escape without its lazy-string wrapper: hundreds of calls a page."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _attrs(attrs: dict, skip: tuple[str, ...] = ()) -> str:
    """Django's widgets/attrs.html: ` name="value"`, a bare ` name` for True, nothing for False."""
    out = []
    for name, value in attrs.items():
        if value is False or name in skip:
            continue
        if value is True:
            out.append(f" {_esc(name)}")
        else:
            out.append(f' {_esc(name)}="{_esc(str(value))}"')
    return "".join(out)


def _add_classes(widget, classes: str) -> None:
    """What crispy's {% crispy_field field 'class' '...' %} does to the widget first."""
    converters = getattr(settings, "CRISPY_CLASS_CONVERTERS", {})
    class_name = widget.__class__.__name__.lower()
    class_name = converters.get(class_name, class_name)
    css_class = widget.attrs.get("class", "")
    if css_class:
        if css_class.find(class_name) == -1:
            css_class += f" {class_name}"
    else:
        css_class = class_name
    widget.attrs["class"] = css_class
    present = css_class.split()
    for name in classes.split():
        if name not in present:
            widget.attrs["class"] += f" {name}"
            present.append(name)


def _widget_context(field, attrs=None) -> dict:
    """What BoundField.as_widget hands the widget template, without rendering the template."""
    widget = field.field.widget
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs(attrs or {}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    return widget.get_context(field.html_name, field.value(), attrs)["widget"]


def _input(context: dict) -> str:
    value = context["value"]
    value_attr = "" if value is None else f' value="{_esc(str(value))}"'
    return (
        f'<input type="{_esc(context["type"])}" '
        f'name="{_esc(context["name"])}"{value_attr}{_attrs(context["attrs"])}>'
    )


def _textarea(context: dict) -> str:
    value = _esc(context["value"]) if context["value"] else ""
    name = _esc(context["name"])
    return f'<textarea name="{name}"{_attrs(context["attrs"])}>\n{value}</textarea>'


def _select(context: dict) -> str:
    out = [f'<select name="{_esc(context["name"])}"{_attrs(context["attrs"])}>']
    for group_name, options, _index in context["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_esc(group_name)}">')
        for option in options:
            out.append(
                f'\n  <option value="{_esc(str(option["value"]))}"'
                f"{_attrs(option['attrs'])}>{_esc(option['label'])}</option>"
            )
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def _errors_block(field) -> str:
    """bootstrap5/layout/field_errors_block.html."""
    if not field.errors:
        return ""
    items = "".join(
        f'\n<p id="error_{number}_{field.auto_id}"><strong>{_esc(error)}</strong></p>'
        for number, error in enumerate(field.errors, start=1)
    )
    return f'\n<div id="{field.errors.field_id}_error" class="invalid-feedback">{items}\n</div>\n'


def _help_text(field) -> str:
    """bootstrap5/layout/help_text.html (help text is trusted HTML, as crispy treats it)."""
    if not field.help_text:
        return ""
    id_attr = f'id="{field.auto_id}_helptext" ' if field.auto_id else ""
    return f'\n<div {id_attr}class="form-text">{field.help_text}</div>\n'


def _label_text(field) -> str:
    asterisk = '<span class="asteriskField">*</span>' if field.field.required else ""
    return f"\n{_esc(field.label)}{asterisk}\n"


def _radios(field) -> str:
    """bootstrap5/layout/radio_checkbox_select.html, for a RadioSelect."""
    widget = field.field.widget
    id_ = widget.attrs.get("id") or field.auto_id
    attrs = field.build_widget_attrs({"id": id_} if id_ else {})
    groups = widget.optgroups(field.html_name, widget.format_value(field.value()), attrs)
    invalid = " is-invalid" if field.errors else ""
    name = _esc(field.html_name)
    out = ["\n<div >\n"]
    for group_number, (group, options, _index) in enumerate(groups, start=1):
        if group:
            out.append(f"<strong>{_esc(group)}</strong>")
        for option_number, option in enumerate(options, start=1):
            last = option_number == len(options) and group_number == len(groups)
            errors = _errors_block(field) if last else ""
            out.append(
                f'\n<div class="form-check">\n<input type="{option["type"]}" '
                f'class="form-check-input{invalid}" name="{name}" '
                f'value="{_esc(str(option["value"]))}" {_attrs(option["attrs"])}>'
                f'\n<label for="{_esc(option["attrs"].get("id", ""))}" '
                f'class="form-check-label">\n{_esc(str(option["label"]))}\n'
                f"</label>\n{errors}\n</div>\n"
            )
    out.append("\n</div>\n")
    out.append(_help_text(field))
    return "".join(out)


def _file(field) -> str:
    """bootstrap5/layout/field_file.html, for a file input with no current file."""
    out = []
    invalid = " is-invalid" if field.errors else ""
    for subwidget in field.subwidgets:
        data = subwidget.data
        extra = f" {data['attrs']['class']}" if data["attrs"].get("class") else ""
        disabled = " disabled" if field.field.disabled else ""
        wrapper = ' class="is-invalid"' if field.errors else ""
        out.append(
            f"\n<div{wrapper}>\n"
            f'<input type="{_esc(data["type"])}" '
            f'name="{_esc(data["name"])}" class="form-control{extra}{invalid}"'
            f"{disabled}{_attrs(data['attrs'], skip=('class',))}>\n"
            f"{_errors_block(field)}{_help_text(field)}\n</div>\n"
        )
    return "".join(out)


def _supported(field) -> bool:
    widget = field.field.widget
    if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple, forms.MultiWidget)):
        return False
    if isinstance(widget, forms.ClearableFileInput) and field.value():
        return False  # a current file: crispy's "currently" block
    return isinstance(widget, (Input, forms.Textarea, forms.Select, forms.RadioSelect))


@register.filter
def bare_widget(field):
    """`{{ field }}` (the widget alone, as Django's input.html writes it) for an input."""
    widget = field.field.widget
    if not isinstance(widget, Input) or isinstance(widget, forms.FileInput):
        return str(field)
    return mark_safe(_input(_widget_context(field)))  # noqa: S308 # nosec B308, B703 # escaped in _input


@register.filter
def bootstrap_field(field):
    """The field as crispy's bootstrap5 `as_crispy_field` renders it, without its templates."""
    if field.is_hidden:
        return bare_widget(field)
    if isinstance(field.field.widget, forms.MultiWidget) and field.field.template_name:
        # A field with its own group template (the day/month/year date input).
        return render_to_string(field.field.template_name, {"field": field})
    if not _supported(field) or getattr(field.form, "helper", None) is not None:
        from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

        return as_crispy_field(field)
    widget = field.field.widget
    css = field.css_classes()
    out = [f'\n<div id="div_{field.auto_id}" class="mb-3{f" {css}" if css else ""}">\n']
    fieldset = field.use_fieldset and field.label
    if field.label:
        required = " requiredField" if field.field.required else ""
        for_attr = f'for="{field.id_for_label}"' if field.id_for_label else ""
        if fieldset:
            described = field.aria_describedby
            described = f' aria-describedby="{described}"' if described else ""
            out.append(
                f"<fieldset{described}>\n<legend\n{for_attr} "
                f'class="form-label{required} fs-6">{_label_text(field)}</legend>\n'
            )
        else:
            out.append(
                f'<label\n{for_attr} class="form-label{required}">{_label_text(field)}</label>\n'
            )
    if isinstance(widget, forms.RadioSelect):
        out.append(_radios(field))
    elif isinstance(widget, forms.FileInput):
        out.append(_file(field))
    else:
        invalid = " is-invalid" if field.errors else ""
        if isinstance(widget, forms.Select):
            _add_classes(widget, f"form-select{invalid}")
            out.append(_select(_widget_context(field)))
        else:
            _add_classes(widget, f"form-control{invalid}")
            context = _widget_context(field)
            out.append(
                _textarea(context) if isinstance(widget, forms.Textarea) else _input(context)
            )
        out.append(f"\n{_errors_block(field)}{_help_text(field)}\n")
    if fieldset:
        out.append("</fieldset>")
    out.append("\n</div>\n")
    return mark_safe("".join(out))  # noqa: S308 # nosec B308, B703 # every value above is escaped
