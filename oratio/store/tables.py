"""The record kinds Oratio stores, with their keys and indexes.

Ids are time-ordered (see `oratio.ids`), so sorting by id is sorting by creation time. Index sort
keys that start with an ISO timestamp allow time-range queries.
"""

from __future__ import annotations

import hashlib

from oratio.store.ports import Index, Table
from schemas import (
    Admin,
    Agent,
    Document,
    DocumentTotals,
    Lease,
    Notification,
    OutboxDelivery,
    Session,
    StoredApiKey,
    Tenant,
    Turn,
)
from schemas.analysis import SessionAnalysis
from schemas.leases import DutyLease
from schemas.oauth import OAuthClient, OAuthCode, OAuthRequest, OAuthToken, ServiceAccount
from schemas.outbox import sortable
from schemas.rate_limits import FailureCount, RateBucket
from schemas.runtime_sessions import RuntimeSessionAlias
from schemas.signin import BrowserSession, Login, SignInLink
from schemas.stats import StatDay
from schemas.tools import StoredSecret


def _ts_id(at: str, ident: str) -> str:
    return f"{at}#{ident}"


TENANTS: Table[Tenant] = Table(
    name="tenants",
    model=Tenant,
    partition=lambda t: t.tenant_id,
    sort=lambda t: "tenant",
    indexes=(
        # Across tenants, for the operator's `oratio tenants` listing (tenants created since it exists).
        Index[Tenant](name="all", partition=lambda t: "tenants", sort=lambda t: t.tenant_id),
    ),
)

ADMINS: Table[Admin] = Table(
    name="admins",
    model=Admin,
    partition=lambda a: a.tenant_id,
    sort=lambda a: a.id,
    unique=lambda a: a.email.casefold(),
)

AGENTS: Table[Agent] = Table(
    name="agents",
    model=Agent,
    partition=lambda a: a.tenant_id,
    sort=lambda a: a.id,
    indexes=(
        Index[Agent](
            name="by_status",
            partition=lambda a: f"{a.tenant_id}#{a.status.value}",
            sort=lambda a: a.id,
        ),
        # Sparse, across tenants: lets a restarting server find creations a crash interrupted.
        Index[Agent](
            name="creating",
            partition=lambda a: "creating" if a.status.value == "creating" else None,
            sort=lambda a: f"{a.tenant_id}#{a.id}",
        ),
    ),
    unique=lambda a: a.spec.name.casefold(),
)

DOCUMENTS: Table[Document] = Table(
    name="documents",
    model=Document,
    partition=lambda d: d.tenant_id,
    sort=lambda d: d.id,
    indexes=(
        Index[Document](
            name="by_agent",
            partition=lambda d: f"{d.tenant_id}#{d.agent_id}",
            sort=lambda d: d.id,
        ),
        # Sparse, across tenants: documents whose ingestion has not finished (resumed after a restart).
        Index[Document](
            name="unready",
            partition=lambda d: "unready" if d.status.value in ("pending", "ingesting") else None,
            sort=lambda d: f"{d.tenant_id}#{d.id}",
        ),
    ),
    unique=lambda d: f"{d.agent_id}#{d.name.casefold()}",
)

# Counters the document limits are checked against: one per agent (sort: its id), one per tenant.
DOCUMENT_TOTALS: Table[DocumentTotals] = Table(
    name="document_totals",
    model=DocumentTotals,
    partition=lambda t: t.tenant_id,
    sort=lambda t: t.scope,
)

API_KEYS: Table[StoredApiKey] = Table(
    name="api_keys",
    model=StoredApiKey,
    partition=lambda k: k.tenant_id,
    sort=lambda k: k.key.id,
    indexes=(
        # The only cross-tenant lookup: a presented secret must find its tenant.
        Index[StoredApiKey](name="by_hash", partition=lambda k: k.secret_hash, sort=lambda k: "key"),
        Index[StoredApiKey](
            name="by_agent",
            partition=lambda k: f"{k.tenant_id}#{k.key.agent_id}",
            sort=lambda k: k.key.id,
        ),
    ),
)

SESSIONS: Table[Session] = Table(
    name="sessions",
    model=Session,
    partition=lambda s: s.tenant_id,
    sort=lambda s: s.id,
    indexes=(
        Index[Session](
            name="by_agent",
            partition=lambda s: f"{s.tenant_id}#{s.agent_id}",
            sort=lambda s: _ts_id(s.started_at.isoformat(), s.id),
        ),
        Index[Session](
            name="by_status",
            partition=lambda s: f"{s.tenant_id}#{s.status.value}",
            sort=lambda s: _ts_id(s.started_at.isoformat(), s.id),
        ),
        # Sparse, across tenants: lets a restarting runtime find sessions a crash left active.
        Index[Session](
            name="open",
            partition=lambda s: "active" if s.status.value == "active" else None,
            sort=lambda s: f"{s.tenant_id}#{s.id}",
        ),
        # Sparse, across tenants: ended sessions whose post-call analysis is not stored yet
        # (oratio.services.analysis). Entered by the write that ends a session, left by the analysis.
        Index[Session](
            name="unanalysed",
            partition=lambda s: "unanalysed" if s.ended_at is not None and not s.analysed else None,
            sort=lambda s: f"{s.tenant_id}#{s.id}",
        ),
    ),
)

ANALYSES: Table[SessionAnalysis] = Table(
    name="analyses",
    model=SessionAnalysis,
    partition=lambda a: a.tenant_id,
    sort=lambda a: a.id,  # the session's id: one analysis per session
    indexes=(
        Index[SessionAnalysis](
            name="by_outcome",
            partition=lambda a: f"{a.tenant_id}#{a.outcome.value}",
            sort=lambda a: a.id,
        ),
    ),
)

TURNS: Table[Turn] = Table(
    name="turns",
    model=Turn,
    partition=lambda t: f"{t.tenant_id}#{t.session_id}",
    sort=lambda t: f"{t.seq:010d}",
)

NOTIFICATIONS: Table[Notification] = Table(
    name="notifications",
    model=Notification,
    partition=lambda n: n.tenant_id,
    sort=lambda n: n.id,
    indexes=(
        Index[Notification](
            name="by_status",
            partition=lambda n: f"{n.tenant_id}#{n.status.value}",
            sort=lambda n: n.id,
        ),
    ),
)

LEASES: Table[Lease] = Table(
    name="leases",
    model=Lease,
    partition=lambda lease: "leases",  # one small partition: a few serving processes at most
    sort=lambda lease: lease.owner_id,
)

DUTIES: Table[DutyLease] = Table(
    name="duties",
    model=DutyLease,
    partition=lambda duty: "duties",  # one small partition: a handful of named periodic duties
    sort=lambda duty: duty.name,
)

RATE_BUCKET_SHARDS = 32
"""Partitions per limiter scope: spreads a busy limiter's writes over DynamoDB partitions, and lets the
SQLite sweep find every bucket of a scope by querying each shard."""

RATE_BUCKETS: Table[RateBucket] = Table(
    name="rate_buckets",
    model=RateBucket,
    partition=lambda b: f"{b.scope}#{b.shard}",
    sort=lambda b: b.key_hash,
    expires=lambda b: b.expires_at,
)

FAILURE_COUNTS: Table[FailureCount] = Table(
    name="failure_counts",
    model=FailureCount,
    partition=lambda c: f"{c.scope}#{c.shard}",
    sort=lambda c: c.key_hash,
    expires=lambda c: c.expires_at,
)

OUTBOX: Table[OutboxDelivery] = Table(
    name="outbox",
    model=OutboxDelivery,
    partition=lambda d: d.tenant_id,
    sort=lambda d: d.id,
    indexes=(
        Index[OutboxDelivery](
            name="by_status",
            partition=lambda d: f"{d.tenant_id}#{d.status.value}",
            sort=lambda d: d.id,
        ),
        # Sparse, across tenants: what the dispatcher still has to send. Grouped by tenant, then by
        # due time, so the dispatcher can take a few rows from each tenant in turn (fairness).
        Index[OutboxDelivery](
            name="due",
            partition=lambda d: "due" if d.status.value == "pending" else None,
            sort=lambda d: f"{d.tenant_id}#{sortable(d.next_at)}#{d.id}",
        ),
    ),
)

SECRETS: Table[StoredSecret] = Table(
    name="secrets",
    model=StoredSecret,
    partition=lambda s: s.tenant_id,
    sort=lambda s: s.name,  # names are unique per tenant by key: setting a name again replaces it
)

# Sign-in on the embedded default (oratio.services.signin). Across tenants by design: the sign-in form
# has only an email, a cookie only a random id, a link only a random token; each finds its tenant here.
LOGINS: Table[Login] = Table(
    name="logins",
    model=Login,
    partition=lambda login: "logins",
    sort=lambda login: login.email.casefold(),
)

BROWSER_SESSIONS: Table[BrowserSession] = Table(
    name="browser_sessions",
    model=BrowserSession,
    partition=lambda s: "browser_sessions",
    sort=lambda s: s.id_hash,
    # By absolute end: how the sweep finds ended sessions to delete (the table stays bounded).
    indexes=(
        Index[BrowserSession](
            name="by_expiry",
            partition=lambda s: "browser_sessions",
            sort=lambda s: f"{sortable(s.expires_at)}#{s.id_hash}",
        ),
    ),
)

SIGNIN_LINKS: Table[SignInLink] = Table(
    name="signin_links",
    model=SignInLink,
    partition=lambda link: "signin_links",
    sort=lambda link: link.token_hash,
    indexes=(
        Index[SignInLink](
            name="by_expiry",
            partition=lambda link: "signin_links",
            sort=lambda link: f"{sortable(link.expires_at)}#{link.token_hash}",
        ),
    ),
)

OAUTH_CLIENTS: Table[OAuthClient] = Table(
    name="oauth_clients",
    model=OAuthClient,
    partition=lambda c: "oauth_clients",
    sort=lambda c: c.client_id,
)

OAUTH_REQUESTS: Table[OAuthRequest] = Table(
    name="oauth_requests",
    model=OAuthRequest,
    partition=lambda r: "oauth_requests",
    sort=lambda r: r.id_hash,
    # By expiry: how the sweep finds requests nobody answered (the table stays bounded).
    indexes=(
        Index[OAuthRequest](
            name="by_expiry",
            partition=lambda r: "oauth_requests",
            sort=lambda r: f"{sortable(r.expires_at)}#{r.id_hash}",
        ),
    ),
)

OAUTH_CODES: Table[OAuthCode] = Table(
    name="oauth_codes",
    model=OAuthCode,
    partition=lambda c: "oauth_codes",
    sort=lambda c: c.code_hash,
    indexes=(
        Index[OAuthCode](
            name="by_expiry",
            partition=lambda c: "oauth_codes",
            sort=lambda c: f"{sortable(c.expires_at)}#{c.code_hash}",
        ),
    ),
)

OAUTH_TOKENS: Table[OAuthToken] = Table(
    name="oauth_tokens",
    model=OAuthToken,
    partition=lambda t: "oauth_tokens",
    sort=lambda t: t.token_hash,
    # Every token of one consent, so revoking one revokes them all.
    indexes=(
        Index[OAuthToken](name="by_family", partition=lambda t: t.family, sort=lambda t: t.token_hash),
        # Sparse: a person's live consents (each family's current refresh token), for the Account tab's
        # list of authorised clients. Left when the token is used (rotated: its successor enters) or revoked.
        Index[OAuthToken](
            name="by_admin",
            partition=lambda t: (
                f"{t.tenant_id}#{t.admin_id}" if t.kind == "refresh" and not (t.used or t.revoked) else None
            ),
            sort=lambda t: f"{t.family}#{t.token_hash}",
        ),
        Index[OAuthToken](
            name="by_expiry",
            partition=lambda t: "oauth_tokens",
            sort=lambda t: f"{sortable(t.expires_at)}#{t.token_hash}",
        ),
    ),
)

SERVICE_ACCOUNTS: Table[ServiceAccount] = Table(
    name="service_accounts",
    model=ServiceAccount,
    partition=lambda a: a.tenant_id,  # every read names the tenant: another tenant's account is not there
    sort=lambda a: a.id,
)

RUNTIME_SESSION_EXPIRY_BUCKETS = 8
"""The expiry index is spread over this many partitions, so a busy runtime never writes one hot key."""


def runtime_expiry_bucket(alias: RuntimeSessionAlias) -> str:
    """The expiry-index partition of an alias (stable: a hash of its key, never Python's salted hash)."""
    digest = hashlib.sha256(f"{alias.tenant_id}#{alias.agent_id}#{alias.runtime_id}".encode()).digest()
    return f"runtime_sessions#{digest[0] % RUNTIME_SESSION_EXPIRY_BUCKETS}"


RUNTIME_SESSIONS: Table[RuntimeSessionAlias] = Table(
    name="runtime_sessions",
    model=RuntimeSessionAlias,
    partition=lambda a: a.tenant_id,
    sort=lambda a: f"{a.agent_id}#{a.runtime_id}",
    expires=lambda a: a.expires_at,  # DynamoDB's TTL deletes them too; the sweeper does on SQLite
    indexes=(
        Index[RuntimeSessionAlias](
            name="by_expiry",
            partition=runtime_expiry_bucket,
            sort=lambda a: f"{sortable(a.expires_at)}#{a.tenant_id}#{a.agent_id}#{a.runtime_id}",
        ),
    ),
)

# A tenant's chart figures per day: one partition per scope (every agent, or one agent), sorted by day,
# so a range is one query of at most ORATIO_STATS_MAX_DAYS records (oratio.services.stats).
STAT_DAYS: Table[StatDay] = Table(
    name="stat_days",
    model=StatDay,
    partition=lambda d: f"{d.tenant_id}#{d.scope}",
    sort=lambda d: d.day.isoformat(),
)

ALL_TABLES: tuple[
    Table[Tenant]
    | Table[Admin]
    | Table[Agent]
    | Table[Document]
    | Table[DocumentTotals]
    | Table[StoredApiKey]
    | Table[Session]
    | Table[Turn]
    | Table[Notification]
    | Table[Lease]
    | Table[OutboxDelivery]
    | Table[StoredSecret]
    | Table[SessionAnalysis]
    | Table[Login]
    | Table[BrowserSession]
    | Table[SignInLink]
    | Table[OAuthClient]
    | Table[OAuthRequest]
    | Table[OAuthCode]
    | Table[OAuthToken]
    | Table[ServiceAccount]
    | Table[RuntimeSessionAlias]
    | Table[DutyLease]
    | Table[RateBucket]
    | Table[FailureCount]
    | Table[StatDay],
    ...,
] = (
    TENANTS,
    ADMINS,
    AGENTS,
    DOCUMENTS,
    DOCUMENT_TOTALS,
    API_KEYS,
    SESSIONS,
    TURNS,
    NOTIFICATIONS,
    LEASES,
    OUTBOX,
    SECRETS,
    ANALYSES,
    LOGINS,
    BROWSER_SESSIONS,
    SIGNIN_LINKS,
    OAUTH_CLIENTS,
    OAUTH_REQUESTS,
    OAUTH_CODES,
    OAUTH_TOKENS,
    SERVICE_ACCOUNTS,
    RUNTIME_SESSIONS,
    DUTIES,
    RATE_BUCKETS,
    FAILURE_COUNTS,
    STAT_DAYS,
)

__all__ = [
    "ADMINS",
    "AGENTS",
    "ALL_TABLES",
    "ANALYSES",
    "API_KEYS",
    "BROWSER_SESSIONS",
    "DOCUMENTS",
    "DOCUMENT_TOTALS",
    "DUTIES",
    "FAILURE_COUNTS",
    "LEASES",
    "LOGINS",
    "NOTIFICATIONS",
    "OAUTH_CLIENTS",
    "OAUTH_CODES",
    "OAUTH_REQUESTS",
    "OAUTH_TOKENS",
    "OUTBOX",
    "RATE_BUCKETS",
    "RATE_BUCKET_SHARDS",
    "RUNTIME_SESSIONS",
    "SECRETS",
    "SERVICE_ACCOUNTS",
    "SESSIONS",
    "SIGNIN_LINKS",
    "STAT_DAYS",
    "TENANTS",
    "TURNS",
]
