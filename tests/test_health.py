"""The load balancer's /healthz: answers for the instance IP, depends on the database alone."""

from __future__ import annotations

import copy
import time

import pytest
from pymemcache.client.base import Client as PymemcacheClient

from deploy.stack.processes import free_port
from deploy.stack.services import start_memcached
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
    # The process's one cache probe may still be finishing an earlier test's (on a busy machine):
    # start from a check that has seen this test's memcached.
    deadline = time.monotonic() + 10
    while client.get("/healthz").json()["cache"] != "ok":
        assert time.monotonic() < deadline, "memcached never reported ok"
        time.sleep(0.1)
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


def memcached_connections_opened(clients: list[PymemcacheClient]) -> int:
    """Connections the memcached nodes have accepted since they started, all of them summed."""
    return sum(int(client.stats()[b"total_connections"]) for client in clients)


# memcached's count of connections ever opened is the servers' own: no other test may open any
# meanwhile.
@pytest.mark.alone
def test_checks_reuse_their_memcached_connections(client, db, settings, figure):
    nodes = settings.CACHES["default"]["LOCATION"]
    assert len(nodes) == 2, "the test services' two memcached nodes"
    # One connection each for reading the figures, kept for the whole test.
    stats = [PymemcacheClient(node) for node in nodes]
    assert client.get("/healthz").json() == HEALTHY
    before = memcached_connections_opened(stats)
    for _ in range(50):
        assert client.get("/healthz").json() == HEALTHY
    opened = memcached_connections_opened(stats) - before
    figure(f"50 health checks opened {opened} memcached connections")
    assert opened == 0
    for node in stats:
        node.close()


def test_a_node_back_from_the_dead_is_ok_at_the_next_check(client, db, settings, tmp_path):
    # The probe keeps its client, yet tries a failed node again at every check.
    port = free_port()
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = [f"127.0.0.1:{port}"]
    settings.CACHES = caches
    assert client.get("/healthz").json()["cache"] == "unreachable"
    memcached = start_memcached(port, log_dir=tmp_path)
    try:
        assert client.get("/healthz").json() == HEALTHY
    finally:
        memcached.stop()
