def test_it_serves_the_home_page(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Report a concern" in response.content
