"""The edge of the site as production's configs build it: HAProxy and nginx in front of gunicorn,
and the CDN stand-in in front of the media bucket.

nginx runs from deploy/nginx/beebeta.conf, the file the app instances use; only addresses and
paths differ. HAProxy connects from 127.0.0.2, the stand-in for the load balancer's address
range, so a request from there may say who the client is, and one from 127.0.0.1 may not.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import time
from pathlib import Path

import boto3
import pytest

from deploy.stack.processes import HOST
from deploy.stack.topology import BUCKET, Stack
from tests.stack.clients import Visitor, request, through_balancer, to_nginx

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
YEAR = "public, max-age=31536000, immutable"


def get(stack: Stack, path: str, **headers: str):
    connection = through_balancer(stack)
    try:
        return request(connection, "GET", path, headers=headers)
    finally:
        connection.close()


def hashed_stylesheet(stack: Stack) -> str:
    home = get(stack, "/").body.decode()
    found = re.search(r'href="(/static/css/beebeta\.[0-9a-f]{12}\.css)"', home)
    assert found, "the home page names no hashed stylesheet (STATIC_MANIFEST)"
    return found.group(1)


def app_log_line(stack: Stack, request_id: str) -> str:
    """gunicorn's access-log line of one request, from whichever app server served it (written
    just after the response went out, so it may take a moment)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for name in ("gunicorn-1", "gunicorn-2"):
            for line in Path(stack.procs[name].log).read_text(errors="replace").splitlines():
                if f"request_id={request_id}" in line and not line.startswith("{"):
                    return line
        time.sleep(0.05)
    raise AssertionError(f"no app server logged request {request_id}")


def test_pages_static_files_and_the_429_page_carry_each_security_header_once(stack):
    pages = {
        "page": get(stack, "/"),
        "static": get(stack, hashed_stylesheet(stack)),
        "error": get(stack, "/no-such-page/"),
    }
    for kind, answer in pages.items():
        for name, value in SECURITY_HEADERS.items():
            assert answer.header_values(name) == [value], f"{name} on the {kind} response"
    # Django's own headers come through untouched.
    assert pages["page"].header_values("X-Frame-Options") == ["DENY"]
    assert pages["error"].status == 404


def test_hashed_static_files_are_cached_for_a_year_and_compressed(stack):
    answer = get(stack, hashed_stylesheet(stack), **{"Accept-Encoding": "gzip"})
    assert answer.status == 200
    assert answer.header_values("Cache-Control") == [YEAR]
    assert answer.headers["Content-Encoding"] == "gzip"
    assert b".site-header" in gzip.decompress(answer.body)

    # An unhashed name may change with a release: an hour only.
    plain = get(stack, "/static/css/beebeta.css")
    assert plain.header_values("Cache-Control") == ["max-age=3600"]


@pytest.mark.parametrize(
    ("path", "burst", "client"),
    [
        ("/accounts/register/", 5, "198.51.100.11"),
        ("/accounts/login/", 10, "198.51.100.12"),
        ("/q/any-question/vote/", 20, "198.51.100.13"),
    ],
)
def test_a_flood_of_posts_from_one_client_gets_the_429_page(stack, path, burst, client):
    # Straight to one nginx, as the load balancer would send them: the client is the address
    # it names, so this flood never touches the budget of the other tests' client, 127.0.0.1.
    connection = to_nginx(stack, 1, as_balancer=True)
    headers = {"X-Forwarded-For": client, "X-Forwarded-Proto": "https"}
    statuses = [
        request(connection, "POST", path, headers=headers, body=b"x=1").status
        for _ in range(burst + 4)
    ]
    # The burst passes at once (to Django, which refuses a POST without a CSRF token), then 429.
    assert 429 not in statuses[: burst + 1], statuses
    assert statuses[-2:] == [429, 429], statuses
    refused = request(connection, "POST", path, headers=headers, body=b"x=1")
    assert refused.status == 429
    assert b"<h1>Slow down a little</h1>" in refused.body
    assert refused.headers["Retry-After"] == "60"
    assert refused.header_values("Cache-Control") == ["no-store"]
    for name, value in SECURITY_HEADERS.items():
        assert refused.header_values(name) == [value]

    # Reading is never limited, and another client still gets through.
    assert request(connection, "GET", path, headers=headers).status != 429
    other = {**headers, "X-Forwarded-For": client.rsplit(".", 1)[0] + ".99"}
    assert request(connection, "POST", path, headers=other, body=b"x=1").status != 429
    connection.close()


def test_a_program_reading_open_data_in_a_loop_gets_the_429_page(stack):
    connection = to_nginx(stack, 1, as_balancer=True)
    headers = {"X-Forwarded-For": "198.51.100.14", "X-Forwarded-Proto": "https"}
    paths = ["/q/no-such-question.json", "/q/no-such-question.csv", "/feeds/new/"]
    started = time.monotonic()
    statuses = [
        request(connection, "GET", paths[n % len(paths)], headers=headers).status for n in range(60)
    ]
    elapsed = time.monotonic() - started
    # The burst of 30 reaches Django (a 404 for a question that is not there), then one a
    # second at most (60 a minute) while the rest get the 429 page.
    assert 429 not in statuses[:31], statuses
    passed = sum(status != 429 for status in statuses)
    assert passed <= 31 + int(elapsed) + 1, (passed, elapsed, statuses)
    assert statuses[-1] == 429, statuses
    # A page people read is never limited, and another client still reads the data.
    assert request(connection, "GET", "/", headers=headers).status == 200
    other = {**headers, "X-Forwarded-For": "198.51.100.99"}
    assert request(connection, "GET", paths[0], headers=other).status == 404
    connection.close()


def test_only_the_balancer_may_say_who_the_client_is(stack):
    spoofed = "203.0.113.5"
    # Through HAProxy, a client's own X-Forwarded-For stays to the left of the address HAProxy
    # saw, and nginx stops at that one.
    via_balancer = get(stack, "/", **{"X-Forwarded-For": spoofed})
    line = app_log_line(stack, via_balancer.headers["X-Request-ID"])
    assert line.startswith(f"{HOST} "), line

    # Straight to nginx from an address outside the balancer's range: the header is ignored...
    outsider = to_nginx(stack, 2, as_balancer=False)
    answer = request(outsider, "GET", "/", headers={"X-Forwarded-For": spoofed})
    assert app_log_line(stack, answer.headers["X-Request-ID"]).startswith(f"{HOST} ")
    # ...and so is its claim that the request came over HTTPS: Django redirects it there.
    answer = request(outsider, "GET", "/", headers={"X-Forwarded-Proto": "https"})
    assert answer.status == 301
    assert answer.headers["Location"].startswith("https://")
    outsider.close()

    # From the balancer's range, both are believed.
    balancer = to_nginx(stack, 2, as_balancer=True)
    headers = {"X-Forwarded-For": f"10.1.1.1, {spoofed}", "X-Forwarded-Proto": "https"}
    answer = request(balancer, "GET", "/", headers=headers)
    assert answer.status == 200
    assert app_log_line(stack, answer.headers["X-Request-ID"]).startswith(f"{spoofed} ")
    balancer.close()


def test_a_request_id_follows_the_request_from_nginx_to_django(stack):
    answer = get(stack, "/tags/", **{"X-Request-ID": "made-up-by-the-client"})
    request_id = answer.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id  # nginx's, not the client's
    access = app_log_line(stack, request_id)
    assert '"GET /tags/ HTTP/1.0" 200' in access and re.search(r" \d+ms ", access)
    logs = [(stack.home / name / "access.log").read_text() for name in ("nginx-1", "nginx-2")]
    assert any(f"request_id={request_id}" in log for log in logs)
    # Beebeta's own JSON request log carries it too.
    json_lines = [
        json.loads(line)
        for name in ("gunicorn-1", "gunicorn-2")
        for line in Path(stack.procs[name].log).read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(entry.get("request_id") == request_id for entry in json_lines)


def test_bodies_up_to_thirteen_uploads_pass_and_larger_ones_stop_at_nginx(stack):
    connection = through_balancer(stack)
    thirteen_uploads = b"\0" * (66 * 1024 * 1024)
    answer = request(
        connection,
        "POST",
        "/ask/",
        headers={"Content-Type": "application/octet-stream"},
        body=thirteen_uploads,
    )
    assert answer.status != 413
    app_log_line(stack, answer.headers["X-Request-ID"])  # it reached Django
    connection.close()

    # nginx refuses on the announced length, before reading any of it.
    connection = through_balancer(stack)
    connection.putrequest("POST", "/ask/")
    connection.putheader("Content-Length", str(71 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()


def test_the_cdn_serves_renditions_and_never_originals(stack):
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{HOST}:{stack.ports['s3']}",
        region_name="us-east-1",
        aws_access_key_id="stack",
        aws_secret_access_key="stack",
    )
    for key in ("display/edge-test.jpg", "originals/edge-test.jpg"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"bytes of " + key.encode())

    cdn = to_cdn(stack)
    shown = request(cdn, "GET", "/display/edge-test.jpg")
    assert shown.status == 200 and shown.body == b"bytes of display/edge-test.jpg"
    assert request(cdn, "GET", "/originals/edge-test.jpg").status == 403
    assert request(cdn, "GET", f"/{BUCKET}/originals/edge-test.jpg").status == 403
    cdn.close()

    # The bucket's policy refuses originals to anyone unsigned, too.
    bucket = to_s3(stack)
    assert request(bucket, "GET", f"/{BUCKET}/originals/edge-test.jpg").status == 403
    assert request(bucket, "GET", f"/{BUCKET}/display/edge-test.jpg").status == 200
    bucket.close()


def test_the_open_data_dump_is_linked_from_data_and_served_by_the_cdn(stack):
    stack.run_python("manage.py", "dump_open_data", "-v", "0")
    # /data/ re-reads the newest dump every 10 minutes: ask the app server that has not read it.
    links = set()
    for n in (1, 2):
        connection = to_nginx(stack, n, as_balancer=True)
        page = request(connection, "GET", "/data/", headers={"X-Forwarded-Proto": "https"})
        connection.close()
        links |= set(re.findall(r'href="(https://[^"]+/open-data/[^"]+\.gz)"', page.body.decode()))
    assert {link.rsplit("/", 1)[1] for link in links} >= {
        "beebeta-questions.json.gz",
        "beebeta-questions.csv.gz",
    }
    cdn = to_cdn(stack)
    for link in links:
        path = "/" + link.split("/", 3)[3]
        got = request(cdn, "GET", path)
        assert got.status == 200, (path, got.status)
        assert got.headers["Content-Type"] == "application/gzip"
        assert got.header_values("Cache-Control") == [YEAR]
        body = gzip.decompress(got.body).decode()
        if link.endswith(".json.gz"):
            assert json.loads(body)["licence"] == "CC BY 4.0"
            assert json.loads(body)["questions"]
        else:
            assert body.startswith("question,title,status,")
    cdn.close()


def test_the_health_check_answers_whatever_the_host(stack):
    # The load balancer checks each instance by its address, which is no allowed host.
    connection = to_nginx(stack, 1, as_balancer=True)
    answer = request(connection, "GET", "/healthz", headers={"Host": "10.40.3.17"})
    assert answer.status == 200
    assert json.loads(answer.body) == {"status": "ok", "database": "ok", "cache": "ok"}
    connection.close()


def to_cdn(stack: Stack) -> http.client.HTTPConnection:
    return http.client.HTTPSConnection(
        HOST, stack.ports["cdn"], timeout=10, context=stack.ssl_context()
    )


def to_s3(stack: Stack) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, stack.ports["s3"], timeout=10)


def test_a_signed_in_visitor_never_gets_the_anonymous_page_from_nginxs_cache(stack, members):
    """nginx keeps anonymous question pages; a member asking for the same address right after
    must get their own page (their name, a CSRF token, private), whatever the session cookie
    is called (`__Host-sessionid` under HTTPS)."""
    question = members.questions[0]
    (username,) = members.take(1)
    member = Visitor(stack)
    member.log_in(username)
    assert any(name.endswith("sessionid") for name in member.cookies)
    for _ in range(3):
        # Once through each nginx (the balancer takes turns), so both hold the anonymous page.
        for _ in range(2):
            anonymous = get(stack, question.path)
            assert anonymous.status == 200
            assert b"csrfmiddlewaretoken" not in anonymous.body
        page = member.get(question.path)
        assert page.status == 200
        assert b"csrfmiddlewaretoken" in page.body, "a member was served the anonymous page"
        assert username.encode() in page.body
        assert "private" in page.headers.get("Cache-Control", "")
