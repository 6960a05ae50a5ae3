from engagement.models import BusinessMembership
from engagement.selectors import businesses_of_user
from tests import factories


def test_a_person_sees_the_businesses_they_belong_to_in_any_role(
    owner, business, other_business, django_assert_num_queries
):
    staffed = factories.BusinessFactory(npt_area=business.npt_area)
    BusinessMembership.objects.create(
        user=owner, business=staffed, role=BusinessMembership.Role.MANAGER
    )

    with django_assert_num_queries(1):
        assert set(businesses_of_user(owner)) == {business, staffed}


def test_someone_in_no_business_sees_none(other_business):
    assert not businesses_of_user(factories.UserFactory()).exists()
