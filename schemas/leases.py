"""Leases: which serving processes are alive, so recovery never touches a live process's sessions."""

from __future__ import annotations

from pydantic import Field

from schemas._base import Identifier, Record, UtcDatetime

PLATFORM_TENANT = "sys_platform"
"""Leases belong to no tenant; records still carry a tenant id, so they carry this one."""


class Lease(Record):
    """One serving process's claim to be alive until `expires_at`, renewed by its heartbeat."""

    tenant_id: Identifier = PLATFORM_TENANT
    owner_id: Identifier
    pid: int = Field(ge=0)
    host: str = Field(max_length=255)
    started_at: UtcDatetime
    expires_at: UtcDatetime


class DutyLease(Record):
    """Who runs a periodic duty (the session sweep, the handoff escalation check) until `expires_at`.

    One row per duty name. The holder renews it each time it runs the duty; every other process
    skips the duty while the row is unexpired and takes it over (a conditional write) after that.
    """

    tenant_id: Identifier = PLATFORM_TENANT
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    holder: Identifier
    expires_at: UtcDatetime
