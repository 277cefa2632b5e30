"""The one way Oratio's own processes act on a tenant's data: a service principal with only the scopes it needs.

A door that has already checked a key (the voice bridge, the runtime) or a pipeline acting for an
admin reads or writes as a named service, scoped to one tenant. Building those in one place keeps
the subject names and the "no more scopes than needed" rule from drifting between call sites.
"""

from __future__ import annotations

from schemas import Principal, Scope


def service_principal(tenant_id: str, subject: str, *scopes: Scope) -> Principal:
    """A principal for Oratio's own `subject` (e.g. "oratio-voice") in one tenant, with exactly `scopes`."""
    if not scopes:
        raise ValueError("a service principal needs at least one scope")
    return Principal(tenant_id=tenant_id, subject=subject, scopes=frozenset(scopes))
