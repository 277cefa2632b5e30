"""A tenant secret's value is never found in any stored file, event, log record or MCP result (issue 18, item 5).

The value is a unique marker. It goes in once, through MCP over streamable HTTP (the hosted door,
with uvicorn, the SDK, httpx and Oratio all logging at DEBUG into caplog), is replaced, listed, used
(`resolve`, what the HTTP and MCP tool runners call before an outbound request) and sent back in calls
that are refused (too long, a badly shaped call, a deleted name). Then `tests.support.secret_scan`
looks for the marker, raw, in base64 at every alignment and in hex, in: every file of the data dir
(SQLite database and WAL, blobs, key files), the tenant's whole event log, every log record, and
every MCP result. After issue 18 merges, the flow gains a real tool call that sends the secret in a
header to a loopback service (only that service may see it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from oratio.config import Settings
from oratio.platform import Platform, open_platform
from schemas.tools import SECRET_VALUE_MAX
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import serving
from tests.support.platforms import test_settings
from tests.support.secret_scan import LeakScan, planted
from tests.support.tenants import new_tenancy, token_for

pytestmark = pytest.mark.anyio

MARKER = "leak-marker-5c1e7a93b2d04f68"
REPLACED = "leak-marker-0a9d3e6f12c4b785"


async def call(scan: LeakScan, client: Client, tool: str, arguments: dict[str, Any]) -> Any:
    result = await client.call_tool(tool, arguments)
    scan.mcp(tool, result)
    return result


async def flow(platform: Platform, client: Client, scan: LeakScan, tenant_id: str) -> None:
    """Set, use, refuse, list, replace, delete: every set_secret path, the refused ones included."""
    assert not (await call(scan, client, "set_secret", {"name": "ORDERS_TOKEN", "value": MARKER})).is_error
    assert platform.secrets.resolve(tenant_id, "ORDERS_TOKEN") == MARKER  # used, as a runner would
    for arguments in (
        {"name": "ORDERS_TOKEN", "value": MARKER * (SECRET_VALUE_MAX // len(MARKER) + 1)},  # too long
        {"value": MARKER},  # no name
        {"name": "orders token", "value": MARKER},  # bad name
        {"name": "ORDERS_TOKEN", "value": {"v": MARKER}},  # not a string
    ):
        assert (await call(scan, client, "set_secret", arguments)).is_error
    assert not (await call(scan, client, "list_secrets", {})).is_error
    assert not (await call(scan, client, "set_secret", {"name": "ORDERS_TOKEN", "value": REPLACED})).is_error
    assert platform.secrets.resolve(tenant_id, "ORDERS_TOKEN") == REPLACED
    assert not (await call(scan, client, "set_secret", {"name": "OTHER_TOKEN", "value": MARKER})).is_error
    assert not (await call(scan, client, "delete_secret", {"name": "OTHER_TOKEN"})).is_error
    assert (await call(scan, client, "delete_secret", {"name": "OTHER_TOKEN"})).is_error


def scan_everything(scan: LeakScan, settings: Settings, platform: Platform, tenant_ids: list[str]) -> None:
    scan.files(settings.data_dir)
    scan.events(platform.backends.events, tenant_ids)


async def test_a_secret_value_is_in_no_file_event_log_or_mcp_result(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = test_settings(tmp_path / "data")
    caplog.set_level(logging.DEBUG)
    scan = LeakScan((MARKER, REPLACED))
    with open_platform(settings) as platform, serving(platform) as served:
        acme, globex = new_tenancy(platform, "Acme"), new_tenancy(platform, "Globex")
        async with mcp_over_http(served.mcp_url, token_for(platform, acme.principal)) as client:
            await flow(platform, client, scan, acme.tenant_id)
        scan_everything(scan, settings, platform, [acme.tenant_id, globex.tenant_id])
    assert any(r.name.startswith("mcp") for r in caplog.records)
    assert any(r.name.startswith("oratio") for r in caplog.records)
    scan.files(settings.data_dir)  # again after close: the WAL checkpointed into the database file
    scan.logs(caplog.records)
    scan.assert_clean()
    secret_records = [r for r in caplog.records if "secret set" in r.getMessage()]
    assert secret_records, "the service logs that a secret was set (its name only)"


def test_the_scan_finds_a_planted_marker_raw_in_base64_and_in_hex(tmp_path: Path) -> None:
    scan = planted(MARKER, tmp_path)

    expected = ["file b64-0.txt", "file b64-1.txt", "file b64-2.txt", "file hex.log", "file raw.db"]
    assert sorted(scan.findings) == expected
