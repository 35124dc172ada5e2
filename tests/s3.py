"""An S3 bucket on the test suite's S3 API server (moto), set up like production's.

The storages are shaped as beebeta/settings.py builds them when AWS_STORAGE_BUCKET_NAME is
set, with the bucket's own path as a stand-in for the CDN's domain. The bucket policy plays
the part of CloudFront's origin access: anyone may read renditions, nobody may read
originals unsigned.
"""

from __future__ import annotations

import copy
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

from deploy.stack.services import renditions_only_policy

ENDPOINT = os.environ.get("BEEBETA_TEST_S3_ENDPOINT", "")
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-store"


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


@dataclass
class Bucket:
    name: str
    client: Any

    def keys(self) -> set[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return {item["Key"] for item in listing.get("Contents", [])}

    def head(self, key: str) -> dict[str, Any]:
        return self.client.head_object(Bucket=self.name, Key=key)


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
        "default": {"BACKEND": "beebeta.media_storage.MediaStorage", "OPTIONS": media_options},
        "originals": {"BACKEND": backend, "OPTIONS": originals_options},
    }


@pytest.fixture
def s3_bucket(settings) -> Iterator[Bucket]:
    """A fresh bucket, with the default and originals storages pointing at it."""
    if not ENDPOINT:
        raise pytest.UsageError("No S3 API server: run the tests through tests/services.py.")
    client = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1")
    name = f"beebeta-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_policy(Bucket=name, Policy=renditions_only_policy(name))
    # Django 5.2's setting_changed handler empties the storages cache (and default_storage)
    # when STORAGES changes, here and again when the fixture restores it.
    settings.STORAGES = {**settings.STORAGES, **s3_storages(name)}
    # As in production, the page's Content-Security-Policy allows images from the media CDN.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["img-src"] = [*policy["DIRECTIVES"]["img-src"], ENDPOINT]
    settings.CONTENT_SECURITY_POLICY = policy
    assert isinstance(storages["default"], S3Storage)
    assert storages["originals"].location == "originals"
    created = Bucket(name, client)
    yield created
    for key in created.keys():
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)
