"""Admin widgets that say what they are to a screen reader (WCAG 2.2 AA, axe-core's `label`).

Django's admin leaves some boxes without a name: the time half of a date-and-time field (its
"Time:" is plain text, not a label), the boxes in an editable changelist's cells and in a
tabular inline's rows (the column heading is the only label, and it labels nothing). Each
gets an aria-label here, naming the field and, in a table, the row it belongs to.
"""

from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import models
from django.forms.models import BaseInlineFormSet, BaseModelFormSet
from django.utils.text import capfirst


class LabelledSplitDateTime(AdminSplitDateTime):
    """Django's date and time boxes, named "Starts at: date" and "Starts at: time"."""

    def __init__(self, label: str, attrs=None):
        super().__init__(attrs)
        self.label = label

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, part in zip(context["widget"]["subwidgets"], ("date", "time"), strict=True):
            subwidget["attrs"]["aria-label"] = f"{self.label}: {part}"
        return context


def name_widgets(form, row: str) -> None:
    """Give each of a table row's boxes a name: its column's label and the row's object."""
    for field in form.fields.values():
        label = capfirst(str(field.label or ""))
        # The admin wraps a foreign key's select (for its add and change links); the wrapper's
        # attrs are the original select's, not this form's copy, so name the copy itself.
        widget = getattr(field.widget, "widget", field.widget)
        widget.attrs.setdefault("aria-label", f"{label} ({row})" if label else row)


def row_name(form) -> str:
    return str(form.instance) if form.instance.pk else "new row"


class NamedRowsInlineFormSet(BaseInlineFormSet):
    """A tabular inline whose boxes (the Delete? box too) name their column and row."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name_widgets(form, row_name(form))


class NamedCellsFormSet(BaseModelFormSet):
    """An editable changelist whose cells name their column and row."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name_widgets(form, row_name(form))


class NamedWidgetsAdminMixin:
    """A ModelAdmin whose date-and-time boxes and editable changelist cells are named."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and isinstance(
            getattr(formfield, "widget", None), AdminSplitDateTime
        ):
            formfield.widget = LabelledSplitDateTime(
                label=capfirst(db_field.verbose_name), attrs=formfield.widget.attrs
            )
        return formfield

    def get_changelist_formset(self, request, **kwargs):
        kwargs.setdefault("formset", NamedCellsFormSet)
        return super().get_changelist_formset(request, **kwargs)
