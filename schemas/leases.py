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
