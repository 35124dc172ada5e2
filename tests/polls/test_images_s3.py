"""The image pipeline against a real S3 API (moto's server): keys, headers, and who may read.

The storages are set up as beebeta/settings.py builds them when AWS_STORAGE_BUCKET_NAME is set,
with the bucket's own path as a stand-in for the CDN's domain. The bucket policy plays the part
of CloudFront's origin access: anyone may read renditions, nobody may read originals unsigned.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from storages.backends.s3 import S3Storage

from polls.images import ImageRejected, store_image
from polls.models import Image
from tests.polls import upload_corpus as corpus

ENDPOINT = os.environ.get("BEEBETA_TEST_S3_ENDPOINT", "")
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-store"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not ENDPOINT, reason="no S3 server: run through tests/services.py with moto"
    ),
]


@dataclass
class Bucket:
    name: str
    client: Any

    def keys(self) -> set[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return {item["Key"] for item in listing.get("Contents", [])}

    def head(self, key: str) -> dict[str, Any]:
        return self.client.head_object(Bucket=self.name, Key=key)


def read_only_renditions_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CdnReadsRenditions",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": [
                        f"arn:aws:s3:::{bucket}/display/*",
                        f"arn:aws:s3:::{bucket}/thumbs/*",
                    ],
                }
            ],
        }
    )


def s3_storages(bucket: str) -> dict[str, dict[str, Any]]:
    """The two storages exactly as beebeta/settings.py shapes them for S3."""
    media_options = {
        "bucket_name": bucket,
        "endpoint_url": ENDPOINT,
        "region_name": "us-east-1",
        "custom_domain": f"{urlsplit(ENDPOINT).netloc}/{bucket}",
        "url_protocol": "http:",
        "addressing_style": "path",
        "signature_version": "s3v4",
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": False,
    }
    originals_options = {
        **media_options,
        "location": "originals",
        "custom_domain": None,
        "querystring_auth": True,
        "querystring_expire": 300,
        "object_parameters": {"CacheControl": PRIVATE_CACHE},
    }
    media_options["object_parameters"] = {"CacheControl": PUBLIC_CACHE}
    backend = "storages.backends.s3.S3Storage"
    return {
        "default": {"BACKEND": backend, "OPTIONS": media_options},
        "originals": {"BACKEND": backend, "OPTIONS": originals_options},
    }


@pytest.fixture
def bucket(settings) -> Iterator[Bucket]:
    client = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1")
    name = f"beebeta-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_policy(Bucket=name, Policy=read_only_renditions_policy(name))
    # Django 5.2's setting_changed handler empties the storages cache (and default_storage)
    # when STORAGES changes, here and again when the fixture restores it.
    settings.STORAGES = {**settings.STORAGES, **s3_storages(name)}
    assert isinstance(storages["default"], S3Storage)
    assert storages["originals"].location == "originals"
    created = Bucket(name, client)
    yield created
    for key in created.keys():
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def anonymous_get(url: str) -> tuple[int, bytes]:
    # No credentials and no signature: what a visitor's browser (or the CDN) would send.
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback http
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def unsigned(url: str) -> str:
    scheme, netloc, path, _, _ = urlsplit(url)
    return urlunsplit((scheme, netloc, path, "", ""))


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
