"""S3 adapter for blob storage (the AWS deployment's documents, agent code and recordings).

Why it looks like this:

- Keys are validated before any call, and every object lives under the store's own `prefix`, so a
  key can never name an object outside it, whatever the bucket also holds.
- S3 is strongly read-after-write consistent, which is what the `BlobStore` contract promises.
- S3 does not say whether a DELETE removed anything, so `delete` asks HEAD first. A concurrent
  delete can make both callers see True; nothing relies on that answer for correctness.
- A listing does not carry content types, so `list` heads each object. Listings are per agent or
  per document (tens of objects), where one request each is acceptable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from oratio.blobs.ports import BlobInfo, validate_key, validate_prefix
from oratio.errors import BackendUnavailable, NotFound

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class _Missing(Exception):
    """The object is not there (internal: each method turns it into its own answer)."""


@contextmanager
def _backend(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            raise _Missing from exc
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        raise BackendUnavailable(f"blob storage could not {action} ({code}); retry shortly") from exc
    except BotoCoreError as exc:  # endpoint down, timeouts, connection resets
        raise BackendUnavailable(f"blob storage did not answer while trying to {action}; retry shortly") from exc


class S3BlobStore:
    """`BlobStore` on one bucket, under `prefix`. The client is the caller's."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        validate_prefix(prefix)
        self._client = client
        self._bucket = bucket
        # "data" and "data/" mean the same folder; without the slash "data" + "x" would be "datax".
        self._prefix = prefix if prefix == "" or prefix.endswith("/") else f"{prefix}/"

    def put(self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE) -> BlobInfo:
        validate_key(key)
        with _backend("store the object"):
            self._client.put_object(Bucket=self._bucket, Key=self._prefix + key, Body=data, ContentType=content_type)
        return BlobInfo(key=key, size=len(data), content_type=content_type)

    def put_stream(self, key: str, source: BinaryIO, *, content_type: str = DEFAULT_CONTENT_TYPE) -> BlobInfo:
        validate_key(key)
        # Measured before the upload: s3transfer closes a small (single-part) source when it is done.
        start = source.tell()
        size = source.seek(0, 2) - start
        source.seek(start)
        with _backend("store the object"):
            # Multipart above boto3's threshold (8 MiB): parts are read from `source` one at a time.
            self._client.upload_fileobj(
                source, self._bucket, self._prefix + key, ExtraArgs={"ContentType": content_type}
            )
        return BlobInfo(key=key, size=size, content_type=content_type)

    def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            with _backend("read the object"):
                out = self._client.get_object(Bucket=self._bucket, Key=self._prefix + key)
                return out["Body"].read()
        except _Missing:
            raise NotFound.of("blob", key) from None

    def head(self, key: str) -> BlobInfo | None:
        return self._info(validate_key(key))

    def _info(self, key: str) -> BlobInfo | None:
        try:
            with _backend("read the object's details"):
                out = self._client.head_object(Bucket=self._bucket, Key=self._prefix + key)
        except _Missing:
            return None
        return BlobInfo(key=key, size=out["ContentLength"], content_type=out.get("ContentType", DEFAULT_CONTENT_TYPE))

    def delete(self, key: str) -> bool:
        if self.head(key) is None:  # validates the key too
            return False
        with _backend("delete the object"):
            self._client.delete_object(Bucket=self._bucket, Key=self._prefix + key)
        return True

    def list(self, prefix: str) -> list[BlobInfo]:
        validate_prefix(prefix)
        keys: list[str] = []
        with _backend("list objects"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._prefix + prefix
            )
            for page in pages:
                keys += [obj["Key"][len(self._prefix) :] for obj in page.get("Contents", [])]
        infos = [self._info(key) for key in sorted(keys)]
        return [info for info in infos if info is not None]  # None: deleted since it was listed


__all__ = ["S3BlobStore"]
