"""django-axes: five wrong passwords from one address lock that address out
for the cool-off; other addresses are not affected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse

from tests.accounts.helpers import is_logged_in, log_in

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.20"


@pytest.fixture(autouse=True)
def _throttling(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.TRUSTED_PROXIES = []


def client_at(address: str, **headers: str) -> Client:
    return Client(REMOTE_ADDR=address, **headers)


def fail_logins(client: Client, username: str = "alice", times: int = 5) -> list[int]:
    return [log_in(client, username, "wrong password").status_code for _ in range(times)]


def test_five_wrong_passwords_lock_the_address_out(alice, bob):
    attacker = client_at(ATTACKER)
    # Four wrong answers are ordinary form errors; the fifth locks.
    assert fail_logins(attacker) == [200, 200, 200, 200, 429]

    response = log_in(attacker, "alice")
    assert response.status_code == 429
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "Too many failed logins" in html
    assert "After 5 wrong passwords" in html
    assert "is locked for 15 minutes." in html
    assert reverse("accounts:password_reset") in html
    assert not is_logged_in(attacker)
    # The address is locked, whoever it tries.
    assert log_in(attacker, "bob").status_code == 429
    assert not is_logged_in(attacker)


def test_another_address_can_still_log_in_as_the_locked_user(alice):
    fail_logins(client_at(ATTACKER))
    elsewhere = client_at(ELSEWHERE)
    assert log_in(elsewhere, "alice").status_code == 302
    assert is_logged_in(elsewhere)


def test_login_works_again_after_the_cool_off(alice):
    attacker = client_at(ATTACKER)
    fail_logins(attacker)
    assert log_in(attacker, "alice").status_code == 429
    # Sixteen minutes pass.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert log_in(attacker, "alice").status_code == 302
    assert is_logged_in(attacker)


def test_fourteen_minutes_are_not_enough(alice):
    attacker = client_at(ATTACKER)
    fail_logins(attacker)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=14))
    assert log_in(attacker, "alice").status_code == 429


def test_a_good_login_forgets_earlier_failures(alice):
    client = client_at(ATTACKER)
    assert fail_logins(client, times=4) == [200] * 4
    assert log_in(client, "alice").status_code == 302
    client.post(reverse("accounts:logout"))
    assert fail_logins(client, times=4) == [200] * 4


class TestBehindTheTrustedProxy:
    """nginx on 127.0.0.1 appends the address it saw to X-Forwarded-For."""

    @pytest.fixture(autouse=True)
    def _proxy(self, settings) -> None:
        settings.TRUSTED_PROXIES = ["127.0.0.1"]

    def via_proxy(self, forwarded_for: str) -> Client:
        return client_at("127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)

    def test_the_address_comes_from_the_forwarded_header(self, alice):
        fail_logins(self.via_proxy(ATTACKER))
        assert AccessAttempt.objects.get().ip_address == ATTACKER
        assert log_in(self.via_proxy(ATTACKER), "alice").status_code == 429
        # Another client behind the same proxy is not locked out with it.
        other = self.via_proxy(ELSEWHERE)
        assert log_in(other, "alice").status_code == 302

    def test_a_forged_header_behind_the_proxy_changes_nothing(self, alice):
        fail_logins(self.via_proxy(ATTACKER))
        # The client wrote the left part; nginx appended what it saw.
        forged = self.via_proxy(f"{ELSEWHERE}, {ATTACKER}")
        assert log_in(forged, "alice").status_code == 429

    def test_a_client_not_behind_the_proxy_cannot_escape_by_forging_the_header(self, alice):
        fail_logins(client_at(ATTACKER))
        forged = client_at(ATTACKER, HTTP_X_FORWARDED_FOR=ELSEWHERE)
        assert log_in(forged, "alice").status_code == 429
        assert not is_logged_in(forged)
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}

    def test_a_client_not_behind_the_proxy_cannot_frame_another_address(self, alice):
        fail_logins(client_at(ATTACKER, HTTP_X_FORWARDED_FOR=ELSEWHERE))
        assert log_in(self.via_proxy(ELSEWHERE), "alice").status_code == 302
