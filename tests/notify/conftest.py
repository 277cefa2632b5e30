"""The notify tests read what moto's SES stored through `/moto-api/data.json`, which dumps every
service's objects; a multipart S3 upload elsewhere in the session leaves part keys whose `status`
raises inside moto and turns that dump into a 500. So these tests get a moto_server of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aws import MotoServer, moto_server


@pytest.fixture(scope="package")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server
