"""The image pipeline against a real S3 API (moto's server): keys, headers, and who may read."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from storages.backends.s3 import S3Storage

from polls.images import ImageRejected, store_image
from polls.models import Image
from tests.polls import upload_corpus as corpus
from tests.s3 import ENDPOINT, PRIVATE_CACHE, PUBLIC_CACHE, Bucket, anonymous_get, unsigned

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(s3_bucket: Bucket) -> Bucket:
    return s3_bucket


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_store_image_puts_three_objects_under_their_keys(bucket):
    image = store_image(upload("a.jpg", corpus.jpeg()))
    assert bucket.keys() == {
        f"originals/{image.original.name}",
        image.display.name,
        image.thumbnail.name,
    }
    assert image.display.name.startswith("display/")
    assert image.thumbnail.name.startswith("thumbs/")


def test_renditions_are_public_jpegs_cached_for_a_year(bucket):
    image = store_image(upload("a.png", corpus.png()))
    for key in (image.display.name, image.thumbnail.name):
        head = bucket.head(key)
        assert head["ContentType"] == "image/jpeg"
        assert head["CacheControl"] == PUBLIC_CACHE


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (corpus.jpeg(), "image/jpeg"),
        (corpus.png(), "image/png"),
        (corpus.webp(), "image/webp"),
        (corpus.gif(), "image/gif"),
    ],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_original_has_the_content_type_of_its_detected_format(bucket, content, content_type):
    # Named .jpg whatever it is: the name must not decide.
    image = store_image(upload("upload.jpg", content))
    head = bucket.head(f"originals/{image.original.name}")
    assert head["ContentType"] == content_type
    assert head["CacheControl"] == PRIVATE_CACHE
    stored = bucket.client.get_object(Bucket=bucket.name, Key=f"originals/{image.original.name}")
    assert stored["Body"].read() == content


def test_anyone_can_fetch_the_display_and_thumbnail_urls(bucket):
    image = store_image(upload("a.jpg", corpus.jpeg()))
    assert image.display.url.startswith(f"http://{urlsplit(ENDPOINT).netloc}/{bucket.name}/")

    for field in (image.display, image.thumbnail):
        status, body = anonymous_get(field.url)
        assert status == 200
        assert body == storages["default"].open(field.name).read()
        assert body.startswith(b"\xff\xd8\xff")


def test_originals_need_a_signed_url(bucket):
    content = corpus.jpeg()
    image = store_image(upload("a.jpg", content))
    signed = storages["originals"].url(image.original.name)
    assert "X-Amz-Signature=" in signed

    status, _ = anonymous_get(unsigned(signed))
    assert status == 403
    status, body = anonymous_get(signed)
    assert status == 200
    assert body == content


def test_two_uploads_with_the_same_name_never_overwrite(bucket):
    first = store_image(upload("a.jpg", corpus.jpeg()))
    second = store_image(upload("a.jpg", corpus.png()))
    assert len(bucket.keys()) == 6
    assert first.display.name != second.display.name
    assert first.original.name != second.original.name


@pytest.mark.parametrize(
    "case",
    [case for case in corpus.bad_uploads() if case.label in {"jpeg-zip-polyglot", "png-bomb-42mp"}],
    ids=lambda case: case.label,
)
def test_rejected_upload_leaves_no_object(bucket, case):
    with pytest.raises(ImageRejected, match=re.escape(case.message)):
        store_image(upload(case.name, case.content))
    assert bucket.client.list_objects_v2(Bucket=bucket.name)["KeyCount"] == 0
    assert not Image.objects.exists()


def test_a_failed_upload_removes_the_objects_already_written(bucket, monkeypatch):
    def refuse_thumbnails(self, name, content, max_length=None):
        if name.startswith("thumbs/"):
            raise OSError("S3 said no")
        return original_save(self, name, content, max_length)

    original_save = S3Storage.save
    monkeypatch.setattr(S3Storage, "save", refuse_thumbnails)
    with pytest.raises(OSError, match="S3 said no"):
        store_image(upload("a.jpg", corpus.jpeg()))
    assert bucket.keys() == set()


def test_clear_orphan_images_deletes_the_objects_too(bucket):
    image = store_image(upload("a.jpg", corpus.jpeg()))
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(days=2))
    call_command("clear_orphan_images", stdout=StringIO())
    assert not Image.objects.exists()
    assert bucket.keys() == set()
