"""A guest's tracking token never reaches a log: access logs and Django's warnings."""

import importlib.util
import logging
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone

from dorset_bcp import log_filters
from engagement import services
from tests import factories


@pytest.fixture
def token(area):
    _, token = services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Stock taken.",
            occurred_on=timezone.localdate(),
            location="Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="guest@example.org",
        ),
        submission_key=uuid.uuid4(),
    )
    return token


@pytest.fixture
def server_log(caplog):
    # django.server does not propagate to the root logger, where caplog listens.
    logger = logging.getLogger("django.server")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_it_keeps_a_wrong_token_out_of_djangos_not_found_warning(client, token, caplog):
    wrong = "W" * 43
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(f"/report/track/{wrong}/").status_code == 404
    messages = [record.getMessage() for record in caplog.records]
    assert "Not Found: /report/track/[token]/" in messages
    assert not any(wrong in message for message in messages)


def test_it_keeps_a_real_token_out_of_every_warning_about_its_pages(client, token, caplog):
    with caplog.at_level(logging.DEBUG):
        client.get(f"/report/track/{token}/")
        client.get(f"/report/track/{token}/reply/")  # 405: POST only
        client.post(f"/report/track/{token}/reply/", {"body": ""})
    assert caplog.records
    assert not any(token in record.getMessage() for record in caplog.records)


def test_it_keeps_the_token_out_of_the_development_servers_access_log(token, server_log):
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /report/track/{token}/ HTTP/1.1", "200", "5120"
    )
    [record] = server_log.records
    assert record.getMessage() == '"GET /report/track/[token]/ HTTP/1.1" 200 5120'
    formatted = logging.getLogger("django.server").handlers[0].format(record)
    assert token not in formatted


def test_it_keeps_the_token_out_of_gunicorns_access_log_line_and_referer(token, caplog):
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = Path(settings.BASE_DIR, "gunicorn.conf.py")
    spec = importlib.util.spec_from_file_location("gunicorn_conf", conf)
    gunicorn_conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gunicorn_conf)
    cfg = Config()
    cfg.set("accesslog", "-")
    access = Logger(cfg)
    gunicorn_conf.on_starting(server=None)
    access.access_log.addHandler(caplog.handler)
    try:
        path = f"/report/track/{token}/"
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": path,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_REFERER": f"https://portal.example{path}",
            "HTTP_USER_AGENT": "Firefox",
        }
        response = SimpleNamespace(status="200 OK", sent=5120, headers=[], response_length=5120)
        request = SimpleNamespace(headers=[])
        access.access(response, request, environ, timezone.timedelta(seconds=0.1))
    finally:
        access.access_log.removeHandler(caplog.handler)
    [record] = [r for r in caplog.records if r.name == "gunicorn.access"]
    message = record.getMessage()
    assert message.count("/report/track/[token]/") == 2  # the request line and the Referer
    assert token not in message


def test_it_redacts_any_shape_of_token_and_nothing_else():
    assert log_filters.redact("GET /report/track/a%00b/reply/?x=1") == (
        "GET /report/track/[token]/reply/?x=1"
    )
    assert log_filters.redact("GET /report/guest/ HTTP/1.1") == "GET /report/guest/ HTTP/1.1"
