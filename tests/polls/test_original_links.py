"""Moderators open a picture's original from the admin: a link that works (the CDN never serves
originals), for staff who may view images only, signed and expiring on S3."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from polls.images import store_image
from tests.polls import upload_corpus as corpus
from tests.s3 import anonymous_get, unsigned

pytestmark = pytest.mark.django_db


def stored_picture(content: bytes):
    return store_image(SimpleUploadedFile("holiday.jpg", content, content_type="image/jpeg"))


@pytest.fixture
def moderator(db) -> Client:
    user = get_user_model().objects.create_user(username="mona", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(user)
    return client


def original_link(image) -> str:
    return reverse("admin:polls_image_original", args=[image.pk])


def test_the_image_page_links_the_original_through_the_admin(moderator, local_media):
    image = stored_picture(corpus.jpeg())
    html = moderator.get(reverse("admin:polls_image_change", args=[image.pk])).content.decode()
    assert f'href="{original_link(image)}"' in html
    # Not the default storage's address of it, where nothing serves originals.
    assert f"/media/{image.original.name}" not in html


def test_on_disk_staff_get_the_original_itself_never_cached(moderator, local_media):
    content = corpus.jpeg()
    image = stored_picture(content)
    response = moderator.get(original_link(image))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_members_and_visitors_never_get_an_original(client, alice, local_media):
    image = stored_picture(corpus.jpeg())
    for who in (None, alice):
        if who is not None:
            client.force_login(who)
        response = client.get(original_link(image))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_right_to_view_images_get_a_404(client, local_media):
    image = stored_picture(corpus.jpeg())
    client.force_login(get_user_model().objects.create_user(username="ed", is_staff=True))
    assert client.get(original_link(image)).status_code == 404


def test_on_s3_staff_are_sent_to_a_signed_url_that_expires(moderator, s3_bucket):
    content = corpus.jpeg()
    image = stored_picture(content)
    response = moderator.get(original_link(image))
    assert response.status_code == 302
    signed = response["Location"]
    query = parse_qs(urlsplit(signed).query)
    assert query["X-Amz-Signature"] and query["X-Amz-Expires"] == ["300"]
    assert "private" in response["Cache-Control"]
    assert anonymous_get(signed) == (200, content)
    # The same address unsigned is refused: only the signature opens it.
    assert anonymous_get(unsigned(signed))[0] == 403
