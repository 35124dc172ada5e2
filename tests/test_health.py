"""The load balancer's /healthz: answers for the instance IP, depends on the database alone."""

from __future__ import annotations

import copy

import pytest

from deploy.stack.processes import free_port
from tests.conftest import unreachable_database

HEALTHY = {"status": "ok", "database": "ok", "cache": "ok"}


def test_healthy_instance_answers_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == HEALTHY


def test_instance_ip_host_is_answered_but_not_served_pages(client, db):
    # The load balancer addresses the instance by its private IP, which is not in ALLOWED_HOSTS.
    response = client.get("/healthz", HTTP_HOST="10.0.3.7")
    assert response.status_code == 200
    assert response.json() == HEALTHY
    assert client.get("/", HTTP_HOST="10.0.3.7").status_code == 400


def test_dead_cache_is_reported_but_keeps_the_instance_in_service(client, db, settings):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = [f"127.0.0.1:{free_port()}"]
    settings.CACHES = caches
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "unreachable"}


@pytest.mark.django_db(transaction=True)
def test_dead_database_takes_the_instance_out_of_service(client):
    with unreachable_database():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable", "cache": "ok"}
    # Once the database is back the same process reports healthy again.
    assert client.get("/healthz").json() == HEALTHY


def test_health_answer_is_never_cached_and_sets_no_cookie(client, db):
    response = client.get("/healthz")
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies
    # A page with a form does set a cookie for the same client, so the check above can fail.
    assert "csrftoken" in client.get("/accounts/login/").cookies


def test_health_check_ignores_the_visitors_session(client, alice):
    client.force_login(alice)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert not response.cookies
    assert "Vary" not in response


def test_plain_http_health_check_is_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == HEALTHY
    home = client.get("/")
    assert home.status_code == 301
    assert home["Location"] == "https://testserver/"
