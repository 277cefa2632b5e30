"""Builds the platform from settings: picks the adapters, wires the services, owns their lifetime.

This is the one place backends are chosen. Only the composition root (`oratio_app`) holds a whole
`Platform`: it hands it to each door typed as that door's own context, a Protocol of the services the
door uses (docs/architecture.md, "Door contexts"); doors never import this module or build adapters.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from oratio import models
from oratio.actions import ActionRunner, SecretResolver
from oratio.actions.http_tool import HttpToolRunner
from oratio.actions.limits import ToolLimits, ToolLimitSettings, burst
from oratio.actions.mcp_client import McpToolRunner, build_mcp_runner
from oratio.actions.runner import PlatformActionRunner
from oratio.actions.schema_check import ArgumentValidator
from oratio.auth.oidc import IssuerSettings, OidcIssuer
from oratio.auth.passwords import Passwords
from oratio.auth.tokens import JwtSettings
from oratio.blobs.local import LocalBlobStore
from oratio.blobs.ports import BlobStore
from oratio.config import BlobBackend, EmailBackend, KnowledgeBackend, Settings, StoreBackend
from oratio.knowledge.embeddings import load_default_embedder
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.isolation import ExtractionLimits, ExtractionPool, Extractor
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.knowledge.ports import KnowledgeBase
from oratio.models.gate import ModelGate
from oratio.notify.address_policy import WebhookPolicy
from oratio.notify.email import EmailSender, SesEmailSender, SmtpEmailSender
from oratio.notify.signing import WebhookSecrets, load_or_create_master_key
from oratio.notify.webhooks import WebhookSender
from oratio.runtime import ConversationEngine, ModelFactory
from oratio.secrets import LocalCipher, SecretCipher, UnconfiguredCipher
from oratio.secrets.cipher import load_or_create_secrets_key
from oratio.services import (
    AccessService,
    AgentService,
    Backends,
    DocumentService,
    KeyService,
    NotificationService,
    SessionService,
    TenantService,
)
from oratio.services.agent_models import agent_models
from oratio.services.agent_tools import ToolService
from oratio.services.analysis import AnalysisService, plan_lookup
from oratio.services.brief_writer import BriefWriter
from oratio.services.creation import AgentBuilder
from oratio.services.creations import CreationService
from oratio.services.customer_feed import CustomerFeed
from oratio.services.dispatcher import OutboxDispatcher
from oratio.services.document_totals import DocumentLimits
from oratio.services.duties import DutySweeper
from oratio.services.handoff import HandoffService
from oratio.services.ingestion import Ingestion, IngestionSettings
from oratio.services.knowledge import KnowledgeService
from oratio.services.leases import LeaseService
from oratio.services.live import EventTail, TailSettings
from oratio.services.oauth import OAuthService, OAuthSettings
from oratio.services.oidc_signin import CALLBACKS_BURST, CALLBACKS_PER_MINUTE, OidcSignIn
from oratio.services.outbox import OutboxLimits, OutboxService
from oratio.services.plan_cache import PlanCache
from oratio.services.plans import PlanService
from oratio.services.rate_limits import RateLimits
from oratio.services.runtime_sessions import RuntimeSessionAliases
from oratio.services.secrets import SecretService
from oratio.services.service_accounts import ServiceAccountService
from oratio.services.session_timeouts import SessionTimeouts
from oratio.services.signin import RESETS_PER_HOUR, SignInService, SignInSettings
from oratio.services.simulations import SimulationService
from oratio.services.stats import StatsService
from oratio.services.stats_backfill import StatsBackfill
from oratio.store.ports import EventLog, RecordStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from strands.models import Model

logger = logging.getLogger("oratio.platform")


@dataclass(frozen=True)
class Platform:
    settings: Settings
    backends: Backends
    tenants: TenantService
    access: AccessService
    agents: AgentService
    documents: DocumentService
    keys: KeyService
    sessions: SessionService
    notifications: NotificationService
    knowledge: KnowledgeService
    ingestion: Ingestion
    handoff: HandoffService
    outbox: OutboxDispatcher
    deliveries: OutboxService
    session_timeouts: SessionTimeouts
    engine: ConversationEngine
    leases: LeaseService
    """This process's lease and the "is that process alive?" check recovery uses (docs/recovery.md)."""
    feed: CustomerFeed
    """What a customer's text channel sees of its session after a cursor (the runtime's receive path)."""
    live: EventTail
    """The one tailer of the event log that the live doors (dashboard WebSocket, MCP listens) share."""
    creations: CreationService
    """Creation records, progress events and build ownership: how the AgentCreator reaches data."""
    plans: PlanService
    """Deployed plan versions for admins: read (hash-checked, redacted), diff, and edits to hand the builder."""
    simulations: SimulationService
    """Simulation reports per version, admin scenarios and markings, the re-run bounds (docs/creator.md)."""
    actions: ActionRunner
    """Runs an agent's tools (HTTP endpoints; MCP servers when wired): validation, limits, address policy."""
    agent_tools: ToolService
    """An agent's tools for admins: add, update, remove, dry-run, import OpenAPI (docs/tools.md)."""
    secrets: SecretService
    """Tenant secrets: write-only for admins; `resolve` (a `SecretResolver`) for the tool runners' outbound calls."""
    analyses: AnalysisService
    """Post-call analysis of ended sessions, written by the session sweep off the turn path (docs/analysis.md)."""
    stats: StatsService
    """Chart figures over a range of days, from the daily totals the analysis keeps (docs/charts.md)."""
    oauth: OAuthService
    """The OAuth authorization server's state for MCP clients that sign in like people (docs/mcp-oauth.md)."""
    service_accounts: ServiceAccountService
    """Machine clients of a tenant with client-credentials tokens for /mcp (docs/mcp-oauth.md)."""
    runtime_sessions: RuntimeSessionAliases
    """Client-chosen AgentCore runtime session ids and the Oratio sessions they continue (any replica)."""
    signin: SignInService
    """People signing in to the dashboard with email and password: invitations, resets, browser sessions."""
    rate_limits: RateLimits
    """Where limiters come from: per process, or shared across replicas in the store (ORATIO_RATE_LIMIT_STATE)."""
    mcp: McpToolRunner
    """The MCP client `actions` dispatches `kind="mcp"` tools to: one instance (its stdio process bound and
    address policy), also the AgentCreator's discovery of an MCP server's tools (`discovery=`)."""
    builder: AgentBuilder | None = None
    """The AgentCreator, attached by the process entry point (the core does not import it)."""
    oidc: OidcSignIn | None = None
    """People signing in to the dashboard through the configured OIDC issuer (ORATIO_OIDC_*); None without one."""

    def with_builder(self, builder: AgentBuilder | None) -> Platform:
        return replace(self, builder=builder)

    def now(self) -> datetime:
        """The platform's clock (a fake one in tests), so a door never reaches into `backends` for it."""
        return self.backends.clock()

    def tailer(self, poll_interval: float | None = None) -> EventTail:
        """The shared event-log tailer, or (tests) a tailer of the caller's own at `poll_interval` seconds."""
        return self.live if poll_interval is None else EventTail(self.backends.events, TailSettings(poll_interval))

    def sweep_sessions(self) -> None:
        """One round of the session sweeper: end idle sessions, then analyse ended ones (in that order,
        so a session the round ended is analysed in the same round); then drop ended dashboard sign-ins."""
        self.session_timeouts.expire_idle()
        self.analyses.run_pending()
        self.signin.sweep()  # browser sessions and sign-in links past their end
        self.oauth.sweep()  # OAuth consent requests, codes and tokens past their expiry
        self.runtime_sessions.sweep()  # client-chosen runtime session ids past AgentCore's 8 hours
        self.rate_limits.sweep()  # shared rate buckets full again (SQLite; DynamoDB's TTL does it too)

    def duty_sweepers(self) -> list[DutySweeper]:
        """The periodic jobs of `oratio serve`, each run by one replica at a time (oratio.services.duties).

        A duty is held for three sweep intervals from its holder's last run: another replica takes the
        job over that long after the holder stops, hangs or is killed (at once after a clean stop).
        """
        interval = self.settings.session_sweep_seconds
        ttl = 3 * interval
        return [
            DutySweeper(self.leases.duty("session_sweep", ttl), self.sweep_sessions, interval),
            # Unacknowledged handoffs: email/webhook once (docs/handoff.md).
            DutySweeper(self.leases.duty("handoff_escalation", ttl), self.handoff.escalate_due, interval),
            # Sessions analysed before the chart totals existed: folded once, a bounded batch a tick,
            # then a no-op for the rest of the process (oratio.services.stats_backfill).
            DutySweeper(self.leases.duty("stats_backfill", ttl), StatsBackfill(self.backends).run, interval),
        ]


def build_services(
    settings: Settings,
    backends: Backends,
    knowledge: KnowledgeBase,
    *,
    model_factory: ModelFactory | None = None,
    secrets: SecretResolver | None = None,
    actions: ActionRunner | None = None,
) -> Platform:
    """Wire the services over already-open backends (tests use this with their own backends).

    `model_factory` replaces `oratio.models.create_model` for the conversation engine (tests, benchmarks).
    `secrets` replaces the tenant secret store as the tools' resolver of `{{secret:NAME}}` (tests).
    `actions` replaces the platform's tool runner (tests); by default tools run through `_action_runner`.
    """
    jwt = JwtSettings(
        secret=settings.resolved_jwt_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_ttl_seconds,
        max_ttl_seconds=settings.jwt_max_ttl_seconds,
    )
    tenants = TenantService(backends)
    ingestion = Ingestion(
        backends,
        knowledge,
        IngestionSettings(
            background=settings.ingest_background,
            workers=settings.ingest_workers,
            per_tenant=settings.ingest_workers_per_tenant,
            attempts_max=settings.ingest_attempts_max,
        ),
    )
    documents = DocumentService(
        backends,
        max_bytes=settings.max_document_bytes,
        ingestion=ingestion,
        limits=DocumentLimits(
            documents_per_agent=settings.documents_per_agent_max,
            bytes_per_agent=settings.document_bytes_per_agent_max,
            bytes_per_tenant=settings.document_bytes_per_tenant_max,
        ),
    )
    notifications = NotificationService(backends)
    gate = ModelGate(settings)
    rate_limits = RateLimits(backends, settings.rate_limit_state)
    keys = KeyService(
        backends,
        rate_limits.limiter("keys", settings.key_rate_per_minute, settings.key_burst),
        cache_seconds=settings.key_cache_seconds,
    )
    plans = PlanCache(recheck_seconds=settings.plan_recheck_seconds)
    agents = AgentService(backends, documents, keys, gate, plans=plans)
    leases = LeaseService(backends, settings.lease_ttl_seconds)
    sessions = SessionService(backends, owner=lambda: leases.owner_id if leases.held else None)
    knowledge_service = KnowledgeService(backends, knowledge, relevance_floor=_relevance_floor(settings, knowledge))
    webhooks = _webhook_sender(settings)
    email = _email_sender(settings)
    outbox = OutboxDispatcher(backends, email=email, webhooks=webhooks, limits=_outbox_limits(settings))
    writer_models = agent_models(agents.artifact, gate, model_factory or _fresh_model(settings))
    briefs = BriefWriter(
        backends,
        writer_models,
        webhooks_on=webhooks is not None,
        max_attempts=outbox.limits.max_attempts,
        wake=outbox.wake,
    )
    handoff = HandoffService(backends, sessions, notifications, email, webhooks, outbox=outbox, briefs=briefs)
    creations = CreationService(backends)
    secret_service = SecretService(backends, secret_cipher(settings), per_tenant_max=settings.secrets_per_tenant_max)
    validator = ArgumentValidator()  # one cache of compiled tool schemas for the runner and the gate
    mcp = build_mcp_runner(settings, secrets or secret_service)
    actions = actions or _action_runner(settings, secrets or secret_service, validator, mcp, rate_limits)
    agent_tools = ToolService(
        agents,
        policy=WebhookPolicy.of(settings.webhook_allow_private, settings.webhook_allowed_hosts),
        actions=actions,
        secrets=secret_service,
        discovery=mcp,
    )
    runs = settings.simulation_runs_per_minute
    simulations = SimulationService(
        backends,
        agents,
        admin_scenarios_max=settings.simulation_admin_scenarios_max,
        runs=rate_limits.limiter("simulation_runs", runs, max(1, int(runs))),
    )
    engine = ConversationEngine(
        agents=agents,
        sessions=sessions,
        knowledge=knowledge_service,
        backends=backends,
        settings=settings,
        handoffs=handoff,
        model_factory=model_factory,
        webhooks=webhooks,
        gate=gate,
        actions=actions,
        validator=validator,
    )
    live = EventTail(backends.events)
    backends.appended.listen(live.nudge)  # this process's writes reach its live subscribers at once
    signin = _signin(settings, backends, tenants, rate_limits, email_on=email is not None, outbox=outbox)
    return Platform(
        settings=settings,
        backends=backends,
        tenants=tenants,
        access=AccessService(
            jwt, tenants, rate_limits.limiter("admins", settings.admin_rate_per_minute, settings.admin_burst)
        ),
        agents=agents,
        documents=documents,
        keys=keys,
        sessions=sessions,
        notifications=notifications,
        knowledge=knowledge_service,
        ingestion=ingestion,
        handoff=handoff,
        outbox=outbox,
        deliveries=OutboxService(backends),
        session_timeouts=SessionTimeouts(backends, settings.session_idle_seconds),
        engine=engine,
        leases=leases,
        live=live,
        feed=CustomerFeed(backends),
        creations=creations,
        plans=PlanService(backends, agents, creations),
        simulations=simulations,
        actions=actions,
        agent_tools=agent_tools,
        secrets=secret_service,
        analyses=AnalysisService(
            backends,
            plan_lookup(agents.artifact),
            sessions=sessions.list,
            models=writer_models,
            scenarios=simulations.held_to,
            webhooks_on=webhooks is not None,
            max_attempts=outbox.limits.max_attempts,
            wake=outbox.wake,
        ),
        stats=StatsService(backends, max_days=settings.stats_max_days),
        signin=signin,
        oidc=_oidc(settings, backends, signin, rate_limits),
        oauth=OAuthService(
            backends,
            tenants,
            OAuthSettings(
                access_ttl=timedelta(seconds=settings.oauth_access_ttl_seconds),
                refresh_ttl=timedelta(seconds=settings.oauth_refresh_ttl_seconds),
                code_ttl=timedelta(seconds=settings.oauth_code_ttl_seconds),
                max_clients=settings.oauth_max_clients,
            ),
        ),
        service_accounts=ServiceAccountService(backends, timedelta(seconds=settings.oauth_access_ttl_seconds)),
        runtime_sessions=RuntimeSessionAliases(backends),
        rate_limits=rate_limits,
        mcp=mcp,
    )


def _oidc(settings: Settings, backends: Backends, signin: SignInService, rate_limits: RateLimits) -> OidcSignIn | None:
    if settings.oidc_discovery_url is None or settings.oidc_client_id is None:
        return None
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret is not None else None
    issuer = OidcIssuer(
        IssuerSettings(settings.oidc_discovery_url, settings.oidc_client_id, secret, settings.oidc_name),
        backends.clock,
    )
    limiter = rate_limits.limiter("oidc_callbacks", CALLBACKS_PER_MINUTE, CALLBACKS_BURST)
    return OidcSignIn(issuer, signin, backends.clock, passwords=settings.signin_passwords, limiter=limiter)


def _signin(
    settings: Settings,
    backends: Backends,
    tenants: TenantService,
    rate_limits: RateLimits,
    *,
    email_on: bool,
    outbox: OutboxDispatcher,
) -> SignInService:
    lockout = settings.signin_lockout_seconds
    return SignInService(
        backends,
        tenants,
        Passwords(memory_kib=settings.password_memory_kib),
        SignInSettings(
            idle=timedelta(seconds=settings.signin_session_idle_seconds),
            absolute=timedelta(seconds=settings.signin_session_max_seconds),
            invite_ttl=timedelta(seconds=settings.signin_invite_ttl_seconds),
            reset_ttl=timedelta(seconds=settings.signin_reset_ttl_seconds),
        ),
        accounts=rate_limits.lockout("signin_accounts", settings.signin_max_failures, lockout, lockout),
        clients=rate_limits.lockout("signin_clients", settings.signin_ip_max_failures, lockout, lockout),
        limiter=rate_limits.limiter("signin", settings.admin_rate_per_minute, settings.admin_burst),
        resets=rate_limits.limiter("signin_resets", RESETS_PER_HOUR / 60, RESETS_PER_HOUR),
        email_on=email_on,
        max_attempts=outbox.limits.max_attempts,
        wake=outbox.wake,
    )


def _fresh_model(settings: Settings) -> Callable[[str], Model]:
    """A spec -> model builder for the brief and the analysis (as the AgentCreator builds one: a fresh one
    per call, so no provider client is shared with another thread's event loop)."""
    return lambda spec: models.create_model(spec, settings)


@contextmanager
def open_platform(settings: Settings) -> Iterator[Platform]:
    """Open the configured backends, yield the wired platform, close everything on exit."""
    with ExitStack() as stack:
        store, events = _open_records(settings, stack)
        blobs = _open_blobs(settings)
        knowledge = _open_knowledge(settings, stack)
        logger.info(
            "store=%s blobs=%s knowledge=%s | platform open",
            settings.store.value,
            settings.blobs.value,
            settings.knowledge.value,
        )
        platform = build_services(settings, Backends(store=store, events=events, blobs=blobs), knowledge)
        stack.callback(platform.ingestion.close)  # before the store and index close: workers may still write
        stack.callback(platform.outbox.close)  # first out: sends in flight may still write their outcome
        stack.callback(platform.handoff.close_briefs)  # before the outbox: a brief being stored may add a delivery
        stack.callback(platform.keys.flush_usage)  # before the store closes: key uses counted in memory
        yield platform


def _open_records(settings: Settings, stack: ExitStack) -> tuple[RecordStore, EventLog]:
    if settings.store is StoreBackend.SQLITE:
        from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore

        db = SqliteDatabase(settings.database_path, synchronous=settings.sqlite_synchronous.value)
        stack.callback(db.close)
        return SqliteRecordStore(db), SqliteEventLog(db)
    from oratio.store.dynamodb import DynamoEventLog, DynamoRecordStore

    client: DynamoDBClient = _aws_client(settings, "dynamodb")
    store = DynamoRecordStore(client, settings.dynamodb_table_prefix)
    events = DynamoEventLog(client, settings.dynamodb_table_prefix)
    stack.callback(store.close)
    stack.callback(events.close)
    return store, events


def _relevance_floor(settings: Settings, knowledge: KnowledgeBase) -> float:
    """ORATIO_KNOWLEDGE_FLOOR where a hit's score means relevance (the local index with embeddings), else 0."""
    if isinstance(knowledge, LocalKnowledgeBase) and knowledge.scores_are_relevance:
        return settings.knowledge_floor
    return 0.0


def _open_knowledge(settings: Settings, stack: ExitStack) -> KnowledgeBase:
    if settings.knowledge is KnowledgeBackend.LOCAL:
        embedder = load_default_embedder() if settings.embeddings else None
        local = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder), pool=extraction_pool(settings))
        stack.callback(local.close)
        return local
    from oratio.knowledge.bedrock.common import BedrockKnowledgeConfig
    from oratio.knowledge.bedrock.knowledge_base import BedrockKnowledgeBase

    bucket = settings.bedrock_kb_bucket or settings.s3_bucket
    # Settings validation guarantees these when the backend is bedrock.
    assert bucket and settings.bedrock_kb_role_arn and settings.bedrock_embedding_model_arn
    assert settings.bedrock_kb_storage is not None
    config = BedrockKnowledgeConfig(
        bucket=bucket,
        role_arn=settings.bedrock_kb_role_arn,
        embedding_model_arn=settings.bedrock_embedding_model_arn,
        storage=settings.bedrock_kb_storage,  # type: ignore[arg-type]  # validated by Bedrock itself
    )
    bedrock = BedrockKnowledgeBase(
        _aws_client(settings, "bedrock-agent"),
        _aws_client(settings, "bedrock-agent-runtime"),
        _aws_client(settings, "s3"),
        config,
    )
    stack.callback(bedrock.close)
    return bedrock


def extraction_pool(settings: Settings, *, extract: Extractor | None = None) -> ExtractionPool:
    """Worker processes for extraction, within the configured limits (tests pass their own `extract`;
    None is `extract_text`, imported with the first document)."""
    limits = ExtractionLimits(
        timeout_s=settings.ingest_timeout_seconds,
        memory_bytes=settings.ingest_memory_mb * 1024 * 1024 or None,
        workers=settings.ingest_workers,
        per_tenant=settings.ingest_workers_per_tenant,
        queue_per_tenant=settings.ingest_queue_per_tenant,
        queue_total=settings.ingest_queue_total,
    )
    return ExtractionPool(limits, extract=extract)


def _open_blobs(settings: Settings) -> BlobStore:
    if settings.blobs is BlobBackend.LOCAL:
        return LocalBlobStore(settings.blob_root)
    from oratio.blobs.s3 import S3BlobStore

    assert settings.s3_bucket is not None  # guaranteed by Settings validation
    client: S3Client = _aws_client(settings, "s3")
    return S3BlobStore(client, settings.s3_bucket, prefix=settings.s3_prefix)


def _aws_client(settings: Settings, service: str) -> Any:
    """A boto3 client; credentials come from the standard AWS chain, never from Oratio's config.

    boto3 is imported here, when an AWS backend is configured: a local installation (and `oratio mcp`'s
    start-up, which Claude Desktop waits on) never pays its import.
    """
    import boto3

    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
    )


def secret_cipher(settings: Settings) -> SecretCipher:
    """KMS when a key is configured; else the configured key; else (SQLite only) a key file in the data
    dir, created on the first secret. DynamoDB without either is refused at use: its data dir is scratch
    (a key file there would differ per process and vanish on restart, taking every secret with it)."""
    if settings.kms_key_id:
        from oratio.secrets.kms import KmsEnvelopeCipher

        return KmsEnvelopeCipher(_aws_client(settings, "kms"), settings.kms_key_id)
    if settings.secrets_key is not None:
        return LocalCipher(base64.b64decode(settings.secrets_key.get_secret_value().strip()))
    if settings.store is StoreBackend.SQLITE:
        return LocalCipher(lambda: load_or_create_secrets_key(settings.data_dir))
    return UnconfiguredCipher()


def _email_sender(settings: Settings) -> EmailSender | None:
    if settings.email is None:
        return None
    assert settings.email_from is not None  # guaranteed by Settings validation
    if settings.email is EmailBackend.SES:
        return SesEmailSender(_aws_client(settings, "ses"), settings.email_from)
    assert settings.smtp_host is not None
    return SmtpEmailSender(
        settings.smtp_host,
        settings.smtp_port,
        settings.email_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
    )


def _webhook_sender(settings: Settings) -> WebhookSender:
    """Always on: a tenant may set a webhook URL on any agent. The signing key is read on first use."""
    configured = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return WebhookSender(
        WebhookSecrets(lambda: load_or_create_master_key(configured, settings.data_dir)),
        policy=WebhookPolicy.of(settings.webhook_allow_private, settings.webhook_allowed_hosts),
        timeout_s=settings.webhook_timeout_seconds,
        max_attempts=settings.webhook_max_attempts,
    )


def _action_runner(
    settings: Settings,
    secrets: SecretResolver,
    validator: ArgumentValidator,
    mcp: McpToolRunner,
    rate_limits: RateLimits,
) -> ActionRunner:
    """Tools reach the same destinations as webhooks (ORATIO_WEBHOOK_ALLOW_PRIVATE / _ALLOWED_HOSTS); their
    calls per minute are counted where every limit is (ORATIO_RATE_LIMIT_STATE), their concurrency per process."""
    limits = ToolLimitSettings(
        calls_per_minute=settings.tool_calls_per_minute,
        concurrency_per_tenant=settings.tool_concurrency_per_tenant,
        concurrency_per_tool=settings.tool_concurrency_per_tool,
    )
    return PlatformActionRunner(
        http=HttpToolRunner(secrets, WebhookPolicy.of(settings.webhook_allow_private, settings.webhook_allowed_hosts)),
        mcp=mcp,
        limits=ToolLimits(limits, rate=rate_limits.limiter("tool_calls", limits.calls_per_minute, burst(limits))),
        validator=validator,
    )


def _outbox_limits(settings: Settings) -> OutboxLimits:
    return OutboxLimits(
        workers=settings.outbox_workers,
        per_destination=settings.outbox_per_destination,
        per_tenant=settings.outbox_per_tenant,
        max_attempts=settings.outbox_max_attempts,
        backoff_base_s=settings.outbox_backoff_base_seconds,
        backoff_max_s=settings.outbox_backoff_max_seconds,
        # A lease shorter than one attempt would let a second process send a row still being sent.
        lease_s=max(
            settings.outbox_lease_seconds, 2 * max(settings.webhook_timeout_seconds, settings.smtp_timeout_seconds)
        ),
    )
