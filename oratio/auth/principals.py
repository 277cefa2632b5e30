"""The one place Oratio builds a `Principal`: services, the local operator, admins, verified tokens.

A door that has already checked a key (the voice bridge, the runtime) or a pipeline acting for an
admin reads or writes as a named service, scoped to one tenant; the operator at the machine acts
through `oratio` commands or `oratio mcp` over stdio; an admin acts as itself. Building those in
one place keeps the subject names and the "no more scopes than needed" rule from drifting between
call sites (`tests/test_principals_built_in_auth.py` keeps `Principal(...)` out of every other
module of the source).
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas import Admin, Principal, Scope

__all__ = [
    "CLI_SUBJECT",
    "OPERATOR_SUBJECT",
    "admin_as_principal",
    "local_operator",
    "service_principal",
    "token_principal",
]

OPERATOR_SUBJECT = "operator"
"""The operator who started `oratio mcp` over stdio (no token: whoever can start it can read the data)."""
CLI_SUBJECT = "oratio-cli"
"""The operator acting through an `oratio` command (e.g. `oratio admin disable`)."""


def service_principal(tenant_id: str, subject: str, *scopes: Scope) -> Principal:
    """A principal for Oratio's own `subject` (e.g. "oratio-voice") in one tenant, with exactly `scopes`."""
    if not scopes:
        raise ValueError("a service principal needs at least one scope")
    return Principal(tenant_id=tenant_id, subject=subject, scopes=frozenset(scopes))


def local_operator(tenant_id: str, subject: str = OPERATOR_SUBJECT) -> Principal:
    """The installation's operator acting in one tenant as its admin authority (local access, no token).

    A malformed `tenant_id` is pydantic's ValidationError, which the caller turns into its own refusal.
    """
    return Principal(tenant_id=tenant_id, subject=subject, scopes=frozenset({Scope.ADMIN}))


def admin_as_principal(admin: Admin) -> Principal:
    """An admin acting as itself: its tenant, its id as the subject, exactly its scopes."""
    return Principal(tenant_id=admin.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))


def token_principal(tenant_id: str, subject: str, scopes: Iterable[str]) -> Principal:
    """The principal a verified token carried, read back from its claims (scope names as issued)."""
    return Principal(tenant_id=tenant_id, subject=subject, scopes=frozenset(Scope(s) for s in scopes))
