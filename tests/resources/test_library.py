import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from resources import services
from resources.models import Resource
from tests import factories

LIST_URL = reverse("resources:resource_list")


def titles(response) -> list[str]:
    return [resource.title for resource in response.context["page"]]


@pytest.fixture
def cyber(db):
    return factories.TopicFactory(slug="cyber", name="Cyber security")


@pytest.fixture
def rural(db):
    return factories.TopicFactory(slug="rural", name="Rural crime")


def test_it_lists_published_resources_and_hides_drafts(client, db):
    factories.ResourceFactory(title="Small Business Guide")
    factories.ResourceFactory(title="Unfinished guide", status="draft")

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert titles(response) == ["Small Business Guide"]
    assert b"Unfinished guide" not in response.content


def test_it_hides_a_draft_from_the_public_by_its_address(client, db):
    draft = factories.ResourceFactory(status="draft")

    assert client.get(draft.get_absolute_url()).status_code == 404


def test_it_lets_an_editor_preview_a_draft(client, editor):
    draft = factories.ResourceFactory(title="Coming soon", status="draft")
    client.force_login(editor)

    response = client.get(draft.get_absolute_url())

    assert response.status_code == 200
    assert b"This is a draft" in response.content


def test_it_searches_title_summary_body_and_publisher(client, db):
    factories.ResourceFactory(title="Phishing advice", summary="Spot fake emails.")
    factories.ResourceFactory(title="Farm security", body="Mark your quad bikes and trailers.")
    factories.ResourceFactory(title="Pub safety", publisher="National Pubwatch")

    assert titles(client.get(LIST_URL, {"q": "fake"})) == ["Phishing advice"]
    assert titles(client.get(LIST_URL, {"q": "QUAD bikes"})) == ["Farm security"]
    assert titles(client.get(LIST_URL, {"q": "pubwatch"})) == ["Pub safety"]
    assert titles(client.get(LIST_URL, {"q": "phishing farm"})) == []


def test_it_filters_by_topic(client, cyber, rural):
    factories.ResourceFactory(title="Cyber Aware", topics=[cyber])
    factories.ResourceFactory(title="Rural crime network", topics=[rural])

    assert titles(client.get(LIST_URL, {"topic": "rural"})) == ["Rural crime network"]


def test_it_filters_by_sector_keeping_advice_for_every_business(client, db):
    factories.ResourceFactory(title="A: for farms", sectors=["farm"])
    factories.ResourceFactory(title="B: for pubs", sectors=["hospitality"])
    factories.ResourceFactory(title="C: for everyone")

    assert titles(client.get(LIST_URL, {"sector": "farm"})) == ["A: for farms", "C: for everyone"]


def test_it_combines_topic_sector_and_search(client, cyber):
    factories.ResourceFactory(title="Cyber for shops", topics=[cyber], sectors=["retail"])
    factories.ResourceFactory(title="Cyber for farms", topics=[cyber], sectors=["farm"])
    factories.ResourceFactory(title="Shop theft", sectors=["retail"])

    response = client.get(LIST_URL, {"topic": "cyber", "sector": "retail", "q": "cyber"})

    assert titles(response) == ["Cyber for shops"]


@pytest.mark.parametrize(
    "params",
    [
        {"topic": "<script>alert(1)</script>"},
        {"sector": "'; DROP TABLE resources_resource; --"},
        {"q": "x" * 500},
        {"page": "99999"},
        {"page": "-1"},
    ],
)
def test_it_ignores_hostile_filter_values_instead_of_failing(client, db, params):
    factories.ResourceFactory(title="Still listed")

    response = client.get(LIST_URL, params)

    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert Resource.objects.count() == 1


def test_it_paginates_twenty_to_a_page(client, db):
    for n in range(25):
        factories.ResourceFactory(title=f"Guide {n:02d}", position=n)

    first = client.get(LIST_URL)
    second = client.get(LIST_URL, {"page": 2})

    assert len(titles(first)) == 20
    assert titles(second) == [f"Guide {n}" for n in range(20, 25)]


def test_it_shows_a_resource_with_its_external_link(client, cyber):
    resource = factories.ResourceFactory(
        title="Small Business Guide",
        link_url="https://www.ncsc.gov.uk/collection/small-business-guide",
        topics=[cyber],
        sectors=["retail"],
    )

    response = client.get(resource.get_absolute_url())

    content = response.content.decode()
    assert 'href="https://www.ncsc.gov.uk/collection/small-business-guide"' in content
    assert "Cyber security" in content
    assert "Shop or retail" in content


def test_it_serves_an_uploaded_pdf_only_while_published(client, db):
    resource = Resource(title="Leaflet", slug="leaflet", summary="A leaflet.", status="published")
    services.resource_save(
        resource=resource,
        sectors=[],
        document=SimpleUploadedFile("leaflet.pdf", factories.PDF_BYTES, "application/pdf"),
    )
    url = reverse("resources:resource_document", args=[resource.slug])

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="leaflet.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == factories.PDF_BYTES

    services.resource_unpublish(resource=resource, actor=None)
    assert client.get(url).status_code == 404


def test_it_404s_the_document_of_a_link_resource(client, db):
    resource = factories.ResourceFactory()

    url = reverse("resources:resource_document", args=[resource.slug])
    assert client.get(url).status_code == 404
