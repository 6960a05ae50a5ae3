from django.apps import apps
from django.urls import reverse

from engagement.models import NPTArea
from tests import factories

URL = reverse("resources:contacts")


def model_or_none(name):
    try:
        return apps.get_model("escalation", name)
    except LookupError:
        return None


def test_it_lists_every_npt_with_its_area_and_districts(client, area, other_area):
    NPTArea.objects.filter(pk=area.pk).update(
        description="Poole town, Hamworthy and Parkstone", email="poole.npt@example.org"
    )

    content = client.get(URL).content.decode()

    assert "Poole town, Hamworthy and Parkstone" in content
    assert "BH12, BH13, BH14, BH15" in content
    assert "mailto:poole.npt@example.org" in content
    assert "Dorchester" in content and "DT1, DT2" in content


def test_it_lists_the_rural_crime_team_and_the_cyber_protect_officer(client, db):
    factories.SpecialistContactFactory(team="rural", name="Rural Crime Team")
    factories.SpecialistContactFactory(
        team="cyber", name="Cyber-Crime Protect and Prevention Officer"
    )
    factories.SpecialistContactFactory(team="cyber", name="Retired officer", is_active=False)

    content = client.get(URL).content.decode()

    assert "Rural Crime Team" in content
    assert "Cyber-Crime Protect and Prevention Officer" in content
    assert "Retired officer" not in content


def test_it_lists_the_groups_and_the_partnership_when_they_exist(client, area):
    group_model = model_or_none("CoordinatingGroup")
    partnership_model = model_or_none("Partnership")
    if group_model is not None:
        group = group_model.objects.create(
            name="BCP Business Co-ordinating Group", slug="bcp", email="bcp.group@example.org"
        )
        NPTArea.objects.filter(pk=area.pk).update(group=group)
    if partnership_model is not None:
        partnership_model.objects.update_or_create(
            defaults={"name": "Dorset Business Safety Partnership", "email": "bsp@example.org"}
        )

    response = client.get(URL)

    assert response.status_code == 200
    content = response.content.decode()
    if group_model is not None:
        assert "BCP Business Co-ordinating Group" in content
        assert "bcp.group@example.org" in content
        assert "Covers:</span> Poole" in content
    if partnership_model is not None:
        assert "Dorset Business Safety Partnership" in content


def test_it_links_to_contacts_from_every_page(client, db):
    content = client.get(reverse("engagement:home")).content.decode()

    for name in ["resource_list", "scheme_list", "seminar_list", "contacts"]:
        assert f'href="{reverse(f"resources:{name}")}"' in content
