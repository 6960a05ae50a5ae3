"""The site's own 404 and 500 pages: in its layout, and the 500 without the database."""

from django.template.loader import get_template
from django.test import RequestFactory
from django.views.defaults import server_error


def test_it_uses_the_sites_404_page(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page
    assert 'href="/report/"' in page


def test_it_renders_the_500_page_without_the_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Something went wrong</h1>" in page
    assert "/static/css/site.css" in page
    assert 'href="/report/"' in page
    assert "extends" not in get_template("500.html").template.source
