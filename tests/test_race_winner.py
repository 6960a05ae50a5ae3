import pytest
from django.db import IntegrityError

from dorset_bcp.db import race_winner
from engagement.models import Business


def test_the_row_the_other_request_made_is_the_answer(business):
    error = IntegrityError("duplicate key value violates unique constraint")

    assert race_winner(Business.objects.filter(name=business.name), error) == business


def test_with_no_winner_the_constraint_error_stands(db):
    error = IntegrityError("another constraint entirely")

    with pytest.raises(IntegrityError, match="another constraint entirely"):
        race_winner(Business.objects.filter(name="Nobody's shop"), error)
