import os

import pytest

from dorset_bcp.celery import app as celery_app


@pytest.fixture
def broker_url():
    """Point Celery at another broker for one test, then put it back."""
    saved = celery_app.conf.broker_url

    def point_at(url):
        celery_app.conf.broker_url = url

    yield point_at
    celery_app.conf.broker_url = saved


def test_it_reports_database_and_broker_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "email": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_broker_is_unreachable_without_giving_details(
    client, db, broker_url
):
    broker_url("redis://:secret-password@127.0.0.1:1/0")  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "broker": "unavailable",
        "email": "ok",
    }
    assert "secret-password" not in response.content.decode()


def test_it_recovers_when_the_broker_is_back(client, db, broker_url):
    broker_url("redis://127.0.0.1:1/0")
    assert client.get("/healthz").status_code == 503
    broker_url("memory://")
    assert client.get("/healthz").status_code == 200


def test_it_refuses_anything_but_get(client, db):
    assert client.post("/healthz").status_code == 405


@pytest.mark.redis
def test_it_reports_a_real_redis_broker_ok(client, db, broker_url):
    broker_url(os.environ["REDIS_URL"])
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"
