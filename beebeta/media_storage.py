"""The media storage on S3: django-storages' S3Storage, with the type of gzip files set."""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage


class MediaStorage(S3Storage):
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        params = super().get_object_parameters(name)
        if name.endswith(".gz"):
            # A file to download as it is (the open data dumps). Left to guess from the name,
            # "x.json.gz" would be served as JSON with Content-Encoding: gzip, which a browser
            # unpacks on the way and saves as "x.json.gz" holding plain JSON.
            params.setdefault("ContentType", "application/gzip")
        return params
