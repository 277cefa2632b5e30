"""All configuration, read from the environment in one place and validated before anything starts.

Every setting is `ORATIO_<NAME>`; the README's configuration table is this class. Zero config gives
the embedded default (SQLite + local directory under `ORATIO_DATA_DIR`). Secrets are SecretStr so
they never appear in reprs or logs.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, SecretStr, StringConstraints, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oratio.auth.oidc import DISCOVERY_SUFFIX, is_issuer_url
from oratio.errors import ConfigError
from oratio.keyfiles import load_or_create_key
from oratio.knowledge.fusion import RELEVANCE_FLOOR
from schemas import Limits

REQUEST_STATE_KEY_MIN_BYTES = 32
"""The MCP SDK's floor for a request-state key (it stretches each with HKDF)."""


class StoreBackend(StrEnum):
    SQLITE = "sqlite"
    DYNAMODB = "dynamodb"


class RateLimitState(StrEnum):
    """Where rate-limit buckets live (ORATIO_RATE_LIMIT_STATE; oratio.services.rate_limits)."""

    MEMORY = "memory"
    """In each process: exact for one process; N replicas admit N times the rate."""
    STORE = "store"
    """In the record store: one budget per key across every replica (what multi-replica deployments use)."""


class SqliteSync(StrEnum):
    """SQLite's `synchronous` pragma in WAL mode; see docs/durability.md for what each survives."""

    NORMAL = "normal"
    FULL = "full"


class BlobBackend(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class KnowledgeBackend(StrEnum):
    LOCAL = "local"
    BEDROCK = "bedrock"


class EmailBackend(StrEnum):
    SMTP = "smtp"
    SES = "ses"


class McpStdioServer(BaseModel):
    """An MCP server the operator installed, started over stdio when an agent calls one of its tools.

    Tenants name it (`McpServerTool.server`), never give a command: running a program is the
    operator's decision. `env` is added to a minimal inherited environment (PATH, HOME, ...), so
    the platform's own secrets never reach the server process.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]] = Field(
        min_length=1, max_length=64, description="The program and its arguments"
    )
    env: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")], str] = Field(
        default_factory=dict, max_length=64
    )


McpServerName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORATIO_", frozen=True, extra="ignore")

    data_dir: Path = Field(default=Path(".oratio"), description="Embedded data: SQLite file, blobs, keys")
    store: StoreBackend = StoreBackend.SQLITE
    sqlite_synchronous: SqliteSync = Field(
        default=SqliteSync.NORMAL,
        description="normal: acknowledged writes survive a process crash (kill -9), the last ones may be lost "
        "on power loss; full: an fsync per commit, they survive power loss too (docs/durability.md)",
    )
    blobs: BlobBackend = BlobBackend.LOCAL

    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = Field(default=None, description="Override AWS endpoint (moto_server, LocalStack)")
    dynamodb_table_prefix: str = Field(default="oratio_", pattern=r"^[A-Za-z0-9_.-]{0,64}$")
    s3_bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_prefix: str = ""

    jwt_secret: SecretStr | None = Field(default=None, description="HS256 key; generated into data_dir if unset")
    jwt_issuer: str = "oratio"
    jwt_audience: str = "oratio-admin"
    jwt_ttl_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    jwt_max_ttl_seconds: int = Field(
        default=30 * 24 * 3600,
        ge=60,
        le=366 * 24 * 3600,
        description="Longest lifetime `oratio admin token --ttl` may give a token; at least jwt_ttl_seconds",
    )

    rate_limit_state: RateLimitState = Field(
        default=RateLimitState.MEMORY,
        description="Where rate limits count: memory (per process) or store (one budget across replicas, "
        "a read and a conditional write per admitted request)",
    )
    key_rate_per_minute: float = Field(default=120, gt=0)
    key_burst: int = Field(default=30, ge=1)
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a verified API key is trusted without reading the store again (0: every request "
        "reads it); a revocation in this process applies at once, in another process within this long",
    )
    plan_recheck_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a deployed plan whose stored bytes matched the sha256 recorded at review is served "
        "from memory before they are read and hashed again (0: on every turn); changed bytes are never served, "
        "and are refused and fail the agent at the next check",
    )
    admin_rate_per_minute: float = Field(default=600, gt=0)
    admin_burst: int = Field(default=100, ge=1)

    # Dashboard sign-in on the embedded default (oratio.services.signin, docs/dashboard.md).
    signin_session_idle_seconds: int = Field(
        default=2 * 3600, ge=60, le=30 * 24 * 3600, description="A browser session unused this long is signed out"
    )
    signin_session_max_seconds: int = Field(
        default=24 * 3600, ge=60, le=90 * 24 * 3600, description="A browser session ends this long after sign-in"
    )
    signin_invite_ttl_seconds: int = Field(
        default=7 * 24 * 3600, ge=60, le=30 * 24 * 3600, description="How long an invitation link works"
    )
    signin_reset_ttl_seconds: int = Field(
        default=3600, ge=60, le=7 * 24 * 3600, description="How long a password reset link works"
    )
    signin_max_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed sign-ins for one email before it is locked out"
    )
    signin_ip_max_failures: int = Field(
        default=30, ge=1, le=100_000, description="Failed sign-ins from one client address before it is locked out"
    )
    signin_lockout_seconds: int = Field(
        default=900, ge=1, le=24 * 3600, description="How long a lockout lasts (also the window failures count in)"
    )
    # People signing in through an OIDC issuer (Cognito on AWS, or another; oratio.services.oidc_signin).
    oidc_discovery_url: str | None = Field(
        default=None,
        max_length=2048,
        description="The issuer people sign in to the dashboard with: its https URL ending in "
        "/.well-known/openid-configuration (http only on a loopback host); unset: email and password only",
    )
    oidc_client_id: str | None = Field(
        default=None,
        pattern=r"^[\x21-\x7e]{1,256}$",
        description="The dashboard's client id at that issuer; its callback URL is "
        "{ORATIO_PUBLIC_URL}/api/v1/auth/oidc/callback",
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="That client's secret (client_secret_basic); unset for a public client (PKCE only)"
    )
    oidc_name: str = Field(
        default="your organisation",
        pattern=r"^[^<>&\"'\x00-\x1f]{1,40}$",
        description='The issuer\'s name on the sign-in button ("Sign in with <name>")',
    )
    signin_passwords: bool = Field(
        default=True,
        description="Email + password sign-in to the dashboard; false (only with ORATIO_OIDC_DISCOVERY_URL) "
        "leaves the issuer as the only way in",
    )
    # MCP clients signing in like people (OAuth 2.1 + PKCE, oratio.services.oauth, docs/mcp-oauth.md).
    oauth_access_ttl_seconds: int = Field(
        default=900, ge=60, le=24 * 3600, description="How long an OAuth access token for /mcp works"
    )
    oauth_refresh_ttl_seconds: int = Field(
        default=30 * 24 * 3600, ge=3600, le=365 * 24 * 3600, description="How long an OAuth refresh token works"
    )
    oauth_code_ttl_seconds: int = Field(
        default=120, ge=10, le=600, description="How long an authorization code (and a consent request) works"
    )
    oauth_max_clients: int = Field(
        default=1000, ge=1, le=100_000, description="Dynamically registered OAuth clients at most"
    )
    oauth_register_per_minute: float = Field(
        default=5.0, gt=0, le=10_000, description="Client registrations per minute from one address"
    )
    oauth_register_burst: int = Field(default=5, ge=1, le=10_000, description="Registrations one address may burst")
    oauth_authorize_per_minute: float = Field(
        default=30.0, gt=0, le=10_000, description="Authorization requests per minute from one address"
    )
    oauth_authorize_burst: int = Field(
        default=30, ge=1, le=10_000, description="Authorization requests one address may burst"
    )
    oauth_client_credentials_per_minute: float = Field(
        default=10.0, gt=0, le=10_000, description="client_credentials token requests per minute per client_id"
    )
    oauth_client_credentials_burst: int = Field(
        default=10, ge=1, le=10_000, description="client_credentials token requests one client_id may burst"
    )
    password_memory_kib: int = Field(
        default=64 * 1024, ge=8 * 1024, le=1024 * 1024, description="argon2id memory cost per password hash"
    )

    max_document_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=25 * 1024 * 1024)
    dashboard_agent_body_bytes: int = Field(
        default=26 * 1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        description="Largest request body the dashboard's agent-creation routes read (a document or SOP file"
        " upload with its multipart framing; JSON bodies stop at 512 KiB whatever this says); a larger body is"
        " refused with 413 before it is read",
    )
    documents_per_agent_max: int = Field(
        default=Limits.DOCUMENTS_PER_AGENT_MAX, ge=1, le=100_000, description="Documents one agent may hold"
    )
    document_bytes_per_agent_max: int = Field(
        default=5 * 1024**3, ge=1024, description="Bytes of documents one agent may hold (all its documents together)"
    )
    document_bytes_per_tenant_max: int = Field(
        default=20 * 1024**3, ge=1024, description="Bytes of documents one tenant may hold (all its agents together)"
    )
    ingest_timeout_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Longest one document's extraction may take before it ends in error"
    )
    ingest_workers: int = Field(default=2, ge=1, le=64, description="Documents extracted at once, platform-wide")
    ingest_workers_per_tenant: int = Field(
        default=1, ge=1, le=64, description="Documents of one tenant extracted at once (at most ORATIO_INGEST_WORKERS)"
    )
    ingest_background: bool = Field(
        default=True,
        description="Index uploaded documents in background workers (the upload returns `ingesting` at once);"
        " false: the upload waits for its document to be indexed (scripts)",
    )
    ingest_attempts_max: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Ingestion runs of a document the server may stop during (restart, crash) before it ends in error",
    )
    ingest_queue_per_tenant: int = Field(
        default=4, ge=0, le=1000, description="Documents of one tenant waiting for a slot; more end in error at once"
    )
    ingest_queue_total: int = Field(
        default=16, ge=0, le=1000, description="Documents waiting for a slot platform-wide; more end in error at once"
    )
    ingest_memory_mb: int = Field(
        default=2048, ge=0, le=1024 * 1024, description="Address-space limit of an extraction worker; 0: none"
    )

    knowledge: KnowledgeBackend = KnowledgeBackend.LOCAL
    embeddings: bool = Field(default=True, description="Hybrid search when the embeddings extra is installed")
    knowledge_floor: float = Field(
        default=RELEVANCE_FLOOR,
        ge=0.0,
        le=1.0,
        description="Hybrid search hits scoring under this are left out of the agent's context and sources, so it "
        "says it does not know instead of citing noise; 0: no floor. Applies to the local index with embeddings",
    )
    bedrock_kb_bucket: str | None = Field(default=None, description="Bucket for Bedrock KB sources; default s3_bucket")
    bedrock_kb_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    bedrock_embedding_model_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:bedrock:.+$")
    bedrock_kb_storage: Json[dict[str, Any]] | None = Field(
        default=None, description="Bedrock storageConfiguration as JSON (e.g. an S3 Vectors index)"
    )

    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="URL clients reach `oratio serve` at (MCP auth metadata, allowed Host); default http://host:port",
    )
    voice_public_url: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^(wss?|https?)://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$",
        description="Where the dashboard page reaches the voice bridge for Listen/Talk/Type (a standalone "
        "`serve-door voice`), e.g. wss://voice.example.com:8765; the page adds /voice/calls/...; allowed in the "
        "page's CSP; default: the dashboard's own origin (`oratio serve` mounts the bridge at /voice)",
    )

    model: str | None = Field(
        default=None,
        max_length=200,
        description="Agents' model: provider:model_id[?options] with provider bedrock, anthropic, openai, ollama, "
        "llamacpp, local or scripted; unset means not configured (an agent's own model override still works)",
    )
    models_allowed: str | None = Field(
        default=None,
        max_length=4000,
        description="Models tenants may pick for an agent, comma-separated: `name=spec` (the operator binds the "
        "endpoint/file) or a plain spec without options; unset: ORATIO_MODEL and scripted",
    )
    local_model_path: Path | None = Field(
        default=None, description="A GGUF file for the local provider, instead of the packaged model"
    )
    model_cache_dir: Path | None = Field(
        default=None, description="Where packaged GGUF models are assembled; default ~/.cache/oratio/models"
    )
    model_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="Server URL for the openai (OpenAI-compatible), ollama and llamacpp providers",
    )
    creator_stage_timeout_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Longest one AgentCreator model call (or simulated scenario) may take"
    )
    creation_documents_wait_seconds: float = Field(
        default=600,
        ge=0,
        le=24 * 3600,
        description="How long the AgentCreator waits for an agent's documents to be indexed before its test"
        " conversations (they then run on the documents ready so far)",
    )
    simulation_scenarios_max: int = Field(
        default=40, ge=1, le=200, description="Scenarios one simulation run holds at most (the rest are reported unrun)"
    )
    simulation_admin_scenarios_max: int = Field(
        default=50, ge=0, le=200, description="Scenarios an admin may add to one agent"
    )
    simulation_run_seconds: float = Field(
        default=900, gt=0, le=24 * 3600, description="Longest one simulation run may take; the rest fail unrun"
    )
    simulation_runs_per_minute: float = Field(
        default=4, gt=0, le=600, description="Simulation re-runs (MCP run_simulations) per tenant per minute"
    )
    turn_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Longest the model may take over one turn before a fallback reply"
    )
    turn_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="How long a message waits for its session's running turn (maybe on another replica) to end "
        "before it is refused with 409 session_busy and Retry-After; 0 refuses at once",
    )
    turn_lock_seconds: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="When a session's turn lock lapses if its process died mid-turn; must be over "
        "ORATIO_TURN_TIMEOUT_SECONDS (unset: that timeout plus 30 s)",
    )

    email: EmailBackend | None = Field(default=None, description="How handoff emails go out: smtp, ses, or unset")
    email_from: str | None = Field(default=None, max_length=254, description="Sender address of platform email")
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=True, description="Upgrade to TLS; required when logging in")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    webhook_secret: SecretStr | None = Field(
        default=None, description="Platform key tenant signing secrets derive from; generated into data_dir if unset"
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts tenant secrets (base64 of 32 bytes); generated into data_dir if unset "
        "on the SQLite store. Unused when ORATIO_KMS_KEY_ID is set",
    )
    kms_key_id: str | None = Field(
        default=None,
        max_length=2048,
        description="AWS KMS key (id, ARN or alias) that wraps tenant secrets (envelope encryption); "
        "the DynamoDB store needs it or ORATIO_SECRETS_KEY",
    )
    mcp_request_state_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated key ring (each >= 32 bytes, newest first) that seals MCP request state "
        "between input rounds; generated into data_dir if unset. Replicas must share it",
    )
    replicas: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Serving processes sharing this data (docs/aws.md, scale-out); over 1 refuses state that "
        "lives in one process or on one disk",
    )
    secrets_per_tenant_max: int = Field(default=100, ge=1, le=10_000, description="Secrets one tenant may store")

    webhook_allow_private: bool = Field(
        default=False, description="Let webhooks reach private/loopback/link-local addresses (development only)"
    )
    webhook_allowed_hosts: str = Field(
        default="", max_length=4000, description="Comma-separated hosts exempt from the private-address check"
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    webhook_max_attempts: int = Field(default=4, ge=1, le=10)

    tool_calls_per_minute: float = Field(
        default=60, gt=0, le=10_000, description="Calls one agent's tool may get per minute (per process)"
    )
    tool_concurrency_per_tenant: int = Field(
        default=8, ge=1, le=256, description="A tenant's tool calls (HTTP, MCP) in flight at once (per process)"
    )
    tool_concurrency_per_tool: int = Field(
        default=4, ge=1, le=256, description="One agent tool's calls in flight at once (per process)"
    )
    mcp_stdio_servers: Json[dict[McpServerName, McpStdioServer]] | None = Field(
        default=None,
        description='MCP servers agents may use over stdio, as JSON: {"name": {"command": [...], "env": {...}}}',
    )
    mcp_stdio_max_processes: int = Field(
        default=8,
        ge=1,
        le=256,
        description="stdio MCP server processes at once (a call starts one); calls beyond are refused until one ends",
    )

    outbox_workers: int = Field(default=8, ge=1, le=64, description="Deliveries (emails, webhooks) sent at once")
    outbox_per_destination: int = Field(
        default=2, ge=1, le=64, description="Deliveries at once to one webhook origin, or one tenant's email"
    )
    outbox_per_tenant: int = Field(default=4, ge=1, le=64, description="Deliveries at once for one tenant")
    outbox_max_attempts: int = Field(default=6, ge=1, le=20, description="Attempts before a delivery is dead")
    outbox_backoff_base_seconds: float = Field(default=2.0, ge=0, le=600, description="First retry delay (doubles)")
    outbox_backoff_max_seconds: float = Field(default=900.0, ge=0, le=86400, description="Longest retry delay")
    outbox_lease_seconds: float = Field(
        default=120.0, ge=1, le=3600, description="A claimed delivery is retried by anyone after this (crash recovery)"
    )

    receive_waits_per_tenant: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Customer receivers open at once per tenant and process: long-poll waits plus /ws connections "
        "(beyond it: 429 + Retry-After, or /ws close 1013)",
    )
    receive_first_message_seconds: float = Field(
        default=900.0,
        ge=1,
        le=86400,
        description="A /ws connection that has sent no message (so has no session to follow) is closed 4408 after "
        "this, giving its receiver slot back (a connected session is ended, and closed, when idle instead)",
    )
    session_idle_seconds: int = Field(default=900, ge=30, description="End sessions idle this long (completed)")
    session_sweep_seconds: float = Field(default=60.0, gt=0, le=3600, description="How often idle sessions are swept")
    stats_max_days: int = Field(
        default=92, ge=1, le=366, description="The widest range of days one /api/v1/stats report covers"
    )

    lease_ttl_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A serving process's lease; another process recovers its sessions this long after it dies",
    )

    @model_validator(mode="after")
    def _notify_needs(self) -> Settings:
        if self.email is not None and not self.email_from:
            raise ValueError(f"ORATIO_EMAIL={self.email.value} needs ORATIO_EMAIL_FROM")
        if self.email is EmailBackend.SMTP and not self.smtp_host:
            raise ValueError("ORATIO_EMAIL=smtp needs ORATIO_SMTP_HOST")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("ORATIO_SMTP_USERNAME and ORATIO_SMTP_PASSWORD go together")
        if self.smtp_username is not None and not self.smtp_starttls:
            raise ValueError("ORATIO_SMTP_USERNAME needs ORATIO_SMTP_STARTTLS=true, or the password travels in clear")
        if self.secrets_key is not None and not _is_key_32(self.secrets_key.get_secret_value()):
            raise ValueError("ORATIO_SECRETS_KEY must be base64 of 32 bytes (try: openssl rand -base64 32)")
        if self.webhook_secret is not None and len(self.webhook_secret.get_secret_value().encode()) < 32:
            raise ValueError("ORATIO_WEBHOOK_SECRET must be at least 32 bytes (try: openssl rand -hex 32)")
        return self

    @model_validator(mode="after")
    def _oidc_needs(self) -> Settings:
        if (self.oidc_discovery_url is None) != (self.oidc_client_id is None):
            raise ValueError("ORATIO_OIDC_DISCOVERY_URL and ORATIO_OIDC_CLIENT_ID go together")
        if self.oidc_client_secret is not None and self.oidc_client_id is None:
            raise ValueError("ORATIO_OIDC_CLIENT_SECRET needs ORATIO_OIDC_DISCOVERY_URL and ORATIO_OIDC_CLIENT_ID")
        url = self.oidc_discovery_url
        if url is not None and (not is_issuer_url(url) or not url.endswith(DISCOVERY_SUFFIX)):
            raise ValueError(
                "ORATIO_OIDC_DISCOVERY_URL must be an https URL ending in /.well-known/openid-configuration "
                "(http only for 127.0.0.1 or localhost)"
            )
        if not self.signin_passwords and url is None:
            raise ValueError(
                "ORATIO_SIGNIN_PASSWORDS=false needs ORATIO_OIDC_DISCOVERY_URL, "
                "or nobody could sign in to the dashboard"
            )
        return self

    @model_validator(mode="after")
    def _replicas_share_state(self) -> Settings:
        if self.mcp_request_state_keys is not None:
            ring = self.mcp_request_state_keys.get_secret_value().split(",")
            if any(len(key.strip().encode()) < REQUEST_STATE_KEY_MIN_BYTES for key in ring):
                raise ValueError(
                    f"ORATIO_MCP_REQUEST_STATE_KEYS: each key must be at least {REQUEST_STATE_KEY_MIN_BYTES} bytes "
                    "(try: openssl rand -hex 32)"
                )
        problems = single_process_settings(self)
        if problems:
            raise ValueError(
                f"ORATIO_REPLICAS={self.replicas} needs state every replica shares: " + "; ".join(problems)
            )
        return self

    @model_validator(mode="after")
    def _backend_needs(self) -> Settings:
        if self.blobs is BlobBackend.S3 and not self.s3_bucket:
            raise ValueError("ORATIO_BLOBS=s3 needs ORATIO_S3_BUCKET")
        if self.knowledge is KnowledgeBackend.BEDROCK:
            missing = [
                name
                for name, value in (
                    ("ORATIO_BEDROCK_KB_BUCKET or ORATIO_S3_BUCKET", self.bedrock_kb_bucket or self.s3_bucket),
                    ("ORATIO_BEDROCK_KB_ROLE_ARN", self.bedrock_kb_role_arn),
                    ("ORATIO_BEDROCK_EMBEDDING_MODEL_ARN", self.bedrock_embedding_model_arn),
                    ("ORATIO_BEDROCK_KB_STORAGE", self.bedrock_kb_storage),
                )
                if not value
            ]
            if missing:
                raise ValueError("ORATIO_KNOWLEDGE=bedrock needs " + ", ".join(missing))
        if self.ingest_workers_per_tenant > self.ingest_workers:
            raise ValueError("ORATIO_INGEST_WORKERS_PER_TENANT cannot exceed ORATIO_INGEST_WORKERS")
        if self.ingest_queue_per_tenant > self.ingest_queue_total:
            raise ValueError("ORATIO_INGEST_QUEUE_PER_TENANT cannot exceed ORATIO_INGEST_QUEUE_TOTAL")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value().encode()) < 32:
            raise ValueError("ORATIO_JWT_SECRET must be at least 32 bytes (try: openssl rand -hex 32)")
        if self.turn_lock_seconds is not None and self.turn_lock_seconds <= self.turn_timeout_seconds:
            raise ValueError(
                "ORATIO_TURN_LOCK_SECONDS must be greater than ORATIO_TURN_TIMEOUT_SECONDS "
                f"({self.turn_timeout_seconds:g}), or a slow turn's lock would lapse while it still runs"
            )
        if self.jwt_ttl_seconds > self.jwt_max_ttl_seconds:
            raise ValueError("ORATIO_JWT_TTL_SECONDS must not be over ORATIO_JWT_MAX_TTL_SECONDS")
        return self

    @property
    def turn_lock_s(self) -> float:
        """How long a turn holds its session's lock at most: `turn_lock_seconds`, or the turn timeout plus 30 s."""
        return self.turn_lock_seconds if self.turn_lock_seconds is not None else self.turn_timeout_seconds + 30.0

    @property
    def database_path(self) -> Path:
        return self.data_dir / "oratio.db"

    @property
    def knowledge_path(self) -> Path:
        return self.data_dir / "knowledge.db"

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "blobs"

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or one generated once into `data_dir/jwt.key` (mode 0600).

        The embedded default must work with no configuration, yet tokens must survive a restart,
        so the generated key is persisted beside the data it protects.
        """
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return load_or_create_key(self.data_dir / "jwt.key")

    def resolved_request_state_keys(self) -> list[str]:
        """The MCP request-state key ring: configured (newest first), else one key generated into the data dir.

        A sampling build's state is sealed by one process and opened by whichever serves the next
        round, so the key must outlive a restart and be the same on every replica.
        """
        if self.mcp_request_state_keys is not None:
            return [key.strip() for key in self.mcp_request_state_keys.get_secret_value().split(",")]
        return [load_or_create_key(self.data_dir / "mcp-request-state.key")]


def single_process_settings(settings: Settings) -> list[str]:
    """What in `settings` is only right for one serving process, when `ORATIO_REPLICAS` says there are more.

    Each of these would otherwise be made per process (a key generated into a data dir, a SQLite file,
    a local index), so replicas would disagree on tokens, signatures, sealed MCP state or data
    without any error until a customer hit the wrong replica. Empty for a single process.
    """
    if settings.replicas <= 1:
        return []
    problems: list[str] = []
    if settings.store is StoreBackend.SQLITE:
        problems.append("ORATIO_STORE=dynamodb (SQLite is one file on one disk)")
    if settings.blobs is BlobBackend.LOCAL:
        problems.append("ORATIO_BLOBS=s3 (local blobs are one disk)")
    if settings.knowledge is KnowledgeBackend.LOCAL:
        problems.append("ORATIO_KNOWLEDGE=bedrock (the local search index is single-node)")
    if settings.rate_limit_state is RateLimitState.MEMORY:
        problems.append("ORATIO_RATE_LIMIT_STATE=store (in memory, each replica allows the whole rate)")
    for name, value in (
        ("ORATIO_JWT_SECRET", settings.jwt_secret),
        ("ORATIO_WEBHOOK_SECRET", settings.webhook_secret),
        ("ORATIO_MCP_REQUEST_STATE_KEYS", settings.mcp_request_state_keys),
    ):
        if value is None:
            problems.append(f"{name} set (it is generated per data dir otherwise)")
    if settings.secrets_key is None and settings.kms_key_id is None:
        problems.append("ORATIO_KMS_KEY_ID or ORATIO_SECRETS_KEY set (tenant secrets are sealed with it)")
    return problems


def _is_key_32(encoded: str) -> bool:
    try:
        return len(base64.b64decode(encoded.strip(), validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate settings; a bad value is a ConfigError naming the variable and the fix."""
    return load_prefixed(Settings, "ORATIO_", env, "configuration")


S = TypeVar("S", bound=BaseSettings)


def load_prefixed(model: type[S], prefix: str, env: dict[str, str] | None, what: str) -> S:
    """`model` from the environment (or `env`, for tests) with `prefix`; errors name the variables."""
    try:
        if env is None:
            return model()
        return model.model_validate({k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            name = prefix + "_".join(str(part) for part in loc).upper() if loc else what
            problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError(f"invalid {what}: " + "; ".join(problems)) from None
