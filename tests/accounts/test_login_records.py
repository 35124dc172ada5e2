"""What the login lockout keeps about people (accounts/login_records.py): failed logins only,
only while they can lock anyone out, gone with the account, and in its data download."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from tests.accounts.helpers import FIXTURE_PASSWORD, log_in

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


@pytest.fixture(autouse=True)
def _direct_clients(settings) -> None:
    settings.TRUSTED_PROXIES = []
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def browser() -> Client:
    return Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT="Test browser 1.0")


def test_a_successful_login_leaves_no_record(alice):
    assert log_in(browser(), "alice").status_code == 302
    assert not AccessLog.objects.exists()
    assert not AccessAttempt.objects.exists()


def test_a_failed_login_keeps_what_the_lockout_needs_and_no_secret(alice):
    client = browser()
    client.get(reverse("accounts:login"))
    log_in(client, "alice", "my wrong secret")
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == (
        "alice",
        ADDRESS,
        1,
    )
    stored = attempt.post_data + attempt.get_data
    assert "my wrong secret" not in stored
    assert client.cookies["csrftoken"].value not in stored


def test_records_older_than_the_cool_off_are_pruned(alice, bob):
    log_in(browser(), "alice", "wrong")
    log_in(Client(REMOTE_ADDR="198.51.100.9"), "bob", "wrong")
    AccessAttempt.objects.filter(username="alice").update(
        attempt_time=F("attempt_time") - timedelta(minutes=16)
    )
    AccessLog.objects.create(username="bob", ip_address=ADDRESS, user_agent="x", path_info="/")
    call_command("prune_login_records", verbosity=0)
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["bob"]
    assert not AccessLog.objects.exists()


def test_deleting_an_account_deletes_its_records(alice, bob):
    log_in(Client(REMOTE_ADDR="198.51.100.50"), "bob", "wrong")
    client = browser()
    log_in(client, "alice")
    log_in(Client(REMOTE_ADDR="198.51.100.9"), "alice", "wrong again")
    response = client.post(
        reverse("accounts:delete_account"), {"current_password": FIXTURE_PASSWORD}
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["bob"]
    # And however the account goes (the admin deletes through the ORM).
    bob.delete()
    assert not AccessAttempt.objects.exists()


def test_the_data_download_shows_the_records_kept(alice):
    log_in(Client(REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT="Other browser"), "alice", "wrong")
    client = browser()
    log_in(client, "alice")
    data = json.loads(client.get(reverse("accounts:profile_data")).content)
    (record,) = data["failed_logins"]
    assert record["ip_address"] == "198.51.100.9"
    assert record["user_agent"] == "Other browser"
    assert record["failures"] == 1
    assert record["last_failure"]
