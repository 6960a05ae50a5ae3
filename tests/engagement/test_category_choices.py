"""The report form's category choices are read once and kept for a minute; a change is shown."""

import pytest
from django.test import Client

from engagement import forms
from engagement.forms import GuestConcernForm
from engagement.models import ConcernCategory
from tests import factories


def choice_labels(form) -> list[str]:
    return [str(label) for _value, label in form.fields["category"].widget.choices]


@pytest.mark.django_db
def test_the_guest_form_page_reads_no_categories_once_they_are_kept(django_assert_num_queries):
    client = Client()
    assert client.get("/report/guest/").status_code == 200
    with django_assert_num_queries(0):
        response = client.get("/report/guest/")
    for category in ConcernCategory.objects.filter(is_active=True):
        assert category.name in response.content.decode()


@pytest.mark.django_db
def test_a_saved_category_shows_at_once_and_a_deactivated_one_goes():
    before = choice_labels(GuestConcernForm())
    added = ConcernCategory.objects.create(name="Dog fouling", slug="dog-fouling", position=99)
    assert choice_labels(GuestConcernForm()) == [*before, "Dog fouling"]
    added.is_active = False
    added.save()
    assert choice_labels(GuestConcernForm()) == before


@pytest.mark.django_db
def test_kept_choices_expire_for_changes_made_by_another_process():
    before = choice_labels(GuestConcernForm())
    # Another process's change: no signal reaches this one.
    ConcernCategory.objects.filter(name=before[0]).update(is_active=False)
    assert choice_labels(GuestConcernForm()) == before
    forms._category_choices["until"] = 0.0  # a minute on
    assert choice_labels(GuestConcernForm()) == before[1:]


@pytest.mark.django_db
def test_a_category_made_inactive_elsewhere_is_still_refused_when_posted():
    first = ConcernCategory.objects.filter(is_active=True).first()
    GuestConcernForm()  # the choices are kept
    ConcernCategory.objects.filter(pk=first.pk).update(is_active=False)
    data = factories.guest_form_data(category=first.pk)
    form = GuestConcernForm(data)
    assert not form.is_valid()
    assert form.errors["category"] == ["Choose what your concern is about from the list."]
