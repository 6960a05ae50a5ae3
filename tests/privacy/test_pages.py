"""The privacy notice and the accessibility statement: public, linked from every page, their
wording kept in the admin by administrators and OPCC editors, rendered as plain text."""

import pytest

from privacy.models import Page
from tests import factories

PAGES = {"/privacy/": "Privacy notice", "/accessibility/": "Accessibility statement"}


@pytest.mark.parametrize("url,title", PAGES.items())
def test_it_shows_the_page_to_anyone(client, db, url, title):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page


def test_the_privacy_notice_says_what_the_law_asks(client, db):
    page = client.get("/privacy/").content.decode()
    for words in (
        "lawful basis",
        "Part 3 of the Data Protection Act 2018",
        "Your rights",
        "ico.org.uk",
    ):
        assert words in page


def test_the_privacy_notice_shows_the_retention_schedule_in_force(client, db):
    from privacy.models import RetentionRule

    RetentionRule.objects.filter(kind="sent_emails").update(days=21)
    page = client.get("/privacy/").content.decode()
    assert "How long we keep each kind of record" in page
    assert "21 days" in page


def test_the_accessibility_statement_names_the_standard_and_the_enforcer(client, db):
    page = client.get("/accessibility/").content.decode()
    for words in ("WCAG", "2.2", "Equality and Human Rights Commission", "Tell us about a problem"):
        assert words in page


def test_every_page_links_to_both_from_its_footer(client, owner):
    for url in ("/", "/report/", "/resources/"):
        page = client.get(url).content.decode()
        footer = page[page.index("<footer") :]
        assert 'href="/privacy/">Privacy notice</a>' in footer, url
        assert 'href="/accessibility/">Accessibility statement</a>' in footer, url


def test_it_renders_editors_words_as_text_never_as_html(client, db):
    Page.objects.filter(slug="privacy").update(
        body="## Who <b>we</b> are\n\n<script>alert(1)</script>\nsecond line\n\n- one\n- <i>two</i>"
    )
    page = client.get("/privacy/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in page
    assert '<h2 class="h3 mt-4">Who &lt;b&gt;we&lt;/b&gt; are</h2>' in page
    assert "<li>one</li><li>&lt;i&gt;two&lt;/i&gt;</li>" in page


def test_the_privacy_notice_takes_two_queries(client, db, django_assert_num_queries):
    with django_assert_num_queries(2):  # the page; the retention schedule
        assert client.get("/privacy/").status_code == 200


def test_the_accessibility_statement_takes_one_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):  # the page
        assert client.get("/accessibility/").status_code == 200


# The admin


def test_an_opcc_editor_changes_the_wording(client, editor):
    page = Page.objects.get(slug="accessibility")
    client.force_login(editor)
    url = f"/admin/privacy/page/{page.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"title": "Accessibility", "body": "We test with NVDA."})
    assert response.status_code == 302
    assert "We test with NVDA." in client.get("/accessibility/").content.decode()


def test_an_editor_keeps_what_they_typed_when_a_field_is_empty(client, editor):
    page = Page.objects.get(slug="privacy")
    client.force_login(editor)
    response = client.post(
        f"/admin/privacy/page/{page.pk}/change/", {"title": "", "body": "Kept words."}
    )
    assert response.status_code == 200
    assert "Kept words." in response.content.decode()
    assert "This field is required" in response.content.decode()


def test_nobody_adds_or_deletes_a_page(client, superuser):
    client.force_login(superuser)
    page = Page.objects.get(slug="privacy")
    assert client.get("/admin/privacy/page/add/").status_code == 403
    assert client.get(f"/admin/privacy/page/{page.pk}/delete/").status_code == 403


def test_an_officer_cannot_change_the_pages(client, npt_officer):
    client.force_login(npt_officer)
    page = Page.objects.get(slug="privacy")
    assert client.get(f"/admin/privacy/page/{page.pk}/change/").status_code == 403
    assert client.get("/admin/privacy/page/").status_code == 403


def test_an_owner_cannot_reach_the_admin_pages(client, owner):
    client.force_login(owner)
    response = client.get("/admin/privacy/page/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_staff_member_without_the_group_sees_nothing_of_it(client, db):
    clerk = factories.UserFactory(is_staff=True)
    client.force_login(clerk)
    assert client.get("/admin/privacy/page/").status_code == 403
