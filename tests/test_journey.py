"""The whole journey through the Django test client, against MariaDB, memcached and S3.

Register, receive the email, activate, log in, ask a question with pictures, see it in the
moderation queue, approve it as staff, vote as another user, see the results; and check what
landed in the bucket: keys, content types, cache headers, and that originals stay private.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from PIL import Image as PILImage

from polls.models import Question
from polls.tallies import read_counts
from tests.accounts.helpers import activation_key_of, hidden_value, link_in
from tests.s3 import PUBLIC_CACHE

# Marked here so that the database is set up before pytest-django's outbox is.
pytestmark = pytest.mark.django_db

PASSWORD = "plum-orchard-7-quietly"
TITLE = "Which market has the best street food at night?"


def picture(name: str, colour: tuple[int, int, int]) -> io.BytesIO:
    buffer = io.BytesIO()
    PILImage.new("RGB", (1600, 1000), colour).save(buffer, "JPEG")
    buffer.seek(0)
    buffer.name = name
    return buffer


def anonymous_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_register_ask_moderate_vote(s3_bucket, mailoutbox, staff, bob, settings):
    settings.MODERATE_FIRST_QUESTIONS = 1
    visitor = Client()

    # Register, receive the email, activate through its link.
    response = visitor.post(
        reverse("django_registration_register"),
        {
            "username": "dana",
            "email": "dana@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dana@example.com"]
    link = link_in(mailoutbox[0])
    form = visitor.get(link)
    assert form.status_code == 200
    key = hidden_value(form.content.decode(), "activation_key")
    assert key == activation_key_of(link)
    activated = visitor.post(reverse("django_registration_activate"), {"activation_key": key})
    assert activated.status_code == 302

    # Log in and ask, with a picture for the question and for one choice.
    login = visitor.post(reverse("accounts:login"), {"username": "dana", "password": PASSWORD})
    assert login.status_code == 302
    asked = visitor.post(
        reverse("polls:ask"),
        {
            "title": TITLE,
            "description": "Stalls, not restaurants.",
            "tags": "Food, Travel",
            "kind": "single",
            "max_choices": "",
            "closes_at": "",
            "results_visibility": "always",
            "choices-TOTAL_FORMS": "3",
            "choices-INITIAL_FORMS": "3",
            "choices-0-text": "Night bazaar",
            "choices-0-image": picture("bazaar.jpg", (230, 120, 30)),
            "choices-1-text": "Harbour market",
            "choices-2-text": "Old town square",
            "image": picture("market.jpg", (30, 120, 230)),
        },
    )
    assert asked.status_code == 302
    question = Question.objects.get(title=TITLE)
    assert question.status == Question.Status.PENDING
    assert visitor.get(question.get_absolute_url()).status_code == 404

    # Staff find it in the moderation queue and approve it.
    moderator = Client()
    moderator.force_login(staff)
    queue = reverse("admin:polls_moderationqueue_changelist")
    assert escape(TITLE) in moderator.get(queue).content.decode()
    approved = moderator.post(queue, {"action": "approve", "_selected_action": [question.pk]})
    assert approved.status_code == 302
    question.refresh_from_db()
    assert question.status == Question.Status.PUBLISHED

    # Another person votes and sees the results, pictures and all.
    voter = Client()
    voter.force_login(bob)
    choices = list(question.choices.order_by("position"))
    voted = voter.post(reverse("polls:vote", args=[question.slug]), {"choice": choices[1].pk})
    assert voted.status_code == 302
    html = voter.get(question.get_absolute_url()).content.decode()
    assert "your vote is counted" in html and "results-table" in html
    assert read_counts(question.pk).for_choice(choices[1].pk) == 1
    assert question.image.display.url in html
    assert choices[0].image.display.url in html

    # What landed in the bucket: renditions public and cached for a year, originals private.
    originals = storages["originals"]
    for image in (question.image, choices[0].image):
        for key in (image.display.name, image.thumbnail.name):
            head = s3_bucket.head(key)
            assert head["ContentType"] == "image/jpeg"
            assert head["CacheControl"] == PUBLIC_CACHE
            assert anonymous_status(storages["default"].url(key)) == 200
        original_key = f"originals/{image.original.name}"
        assert original_key in s3_bucket.keys()
        assert s3_bucket.head(original_key)["ContentType"] == "image/jpeg"
        signed = originals.url(image.original.name)
        unsigned = signed.split("?", 1)[0]
        assert urlsplit(unsigned).path.endswith(image.original.name)
        assert anonymous_status(unsigned) == 403
