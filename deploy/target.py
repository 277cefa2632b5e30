"""What a deployment is aimed at (`Target`) and the AWS clients it goes through (`AwsClients`).

The clients are a Protocol so tests hand in clients pointed at a moto_server, or wrapped in a botocore
Stubber where moto does not serve an API; `boto_clients` is the real thing. Credentials come from
the standard AWS chain only; nothing here reads or prints them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config

from deploy.errors import DeployError

STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
TABLE_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")  # as ORATIO_DYNAMODB_TABLE_PREFIX
DASHBOARD_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*$")
"""--dashboard-url: the template's DashboardUrl parameter (and Cognito's callback URL) is built on it."""
DEFAULT_MODEL_ID = "anthropic.claude-haiku-4-5-20251001-v1:0"
ENDPOINT_ENV = "ORATIO_AWS_ENDPOINT_URL"


class AwsClients(Protocol):
    """The five clients a deployment uses (boto3 clients, or test doubles of the same API)."""

    @property
    def cloudformation(self) -> Any: ...
    @property
    def s3(self) -> Any: ...
    @property
    def agentcore(self) -> Any: ...
    @property
    def secrets(self) -> Any: ...
    @property
    def sts(self) -> Any: ...


@dataclass(frozen=True)
class BotoClients:
    cloudformation: Any
    s3: Any
    agentcore: Any
    secrets: Any
    sts: Any


@dataclass(frozen=True)
class Target:
    """Everything `--plan`/`--apply` needs besides the AWS state they read."""

    region: str
    stack: str = "oratio"
    table_prefix: str = "oratio_"
    model_id: str = DEFAULT_MODEL_ID
    model_profile: str | None = None  # inference profile prefix (us, eu, apac, global; "" none); None: by region
    sender_email: str = ""
    oidc_discovery_url: str = ""
    oidc_clients: str = ""
    dashboard_url: str = ""  # where people open the dashboard (ORATIO_PUBLIC_URL of `oratio serve`); "" none
    oidc_dashboard_client: str = ""  # the dashboard's client id at --oidc-discovery-url's issuer
    knowledge_storage: str | None = None  # ORATIO_BEDROCK_KB_STORAGE JSON; None keeps knowledge local
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    code_bucket: str | None = None  # an existing bucket for packages instead of the stack's blob bucket
    extra_parameters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not STACK_NAME.match(self.stack):
            raise DeployError(
                f"stack name {self.stack!r} must be 1-31 lowercase letters, digits or '-', starting with a letter "
                "(it names S3 buckets and AgentCore runtimes)"
            )
        if not TABLE_PREFIX.match(self.table_prefix):
            raise DeployError(f"table prefix {self.table_prefix!r} may hold only letters, digits, '_', '.', '-' (64)")
        if bool(self.oidc_discovery_url) != bool(self.oidc_clients):
            raise DeployError("--oidc-discovery-url and --oidc-clients go together (or leave both out for Cognito)")
        if self.oidc_discovery_url and not self.oidc_discovery_url.startswith("https://"):
            raise DeployError("--oidc-discovery-url must be an https URL ending in /.well-known/openid-configuration")
        if self.dashboard_url and not DASHBOARD_URL.match(self.dashboard_url):
            raise DeployError(
                "--dashboard-url must be the https URL people open the dashboard at, without a trailing '/', "
                "query or fragment (e.g. https://oratio.acme.example); Cognito accepts only https callbacks"
            )
        if self.oidc_dashboard_client and not (self.oidc_discovery_url and self.dashboard_url):
            raise DeployError("--oidc-dashboard-client needs --oidc-discovery-url and --dashboard-url")
        if self.oidc_discovery_url and self.dashboard_url and not self.oidc_dashboard_client:
            raise DeployError(
                "--dashboard-url with your own issuer needs --oidc-dashboard-client: the dashboard's client id "
                "there, registered with the callback <dashboard-url>/api/v1/auth/oidc/callback"
            )

    @property
    def runtime_prefix(self) -> str:
        """AgentCore runtime names allow [a-zA-Z][a-zA-Z0-9_]{0,47}: the stack name with '_' for '-'."""
        return self.stack.replace("-", "_")

    @property
    def model(self) -> str:
        """ORATIO_MODEL for the runtimes: Bedrock, through the inference profile when one is set."""
        profile = profile_for(self.region) if self.model_profile is None else self.model_profile
        return f"bedrock:{profile}.{self.model_id}" if profile else f"bedrock:{self.model_id}"

    def parameters(self) -> dict[str, str]:
        params = {
            "TablePrefix": self.table_prefix,
            "SenderEmail": self.sender_email,
            "OidcDiscoveryUrl": self.oidc_discovery_url,
            "OidcAllowedClients": self.oidc_clients,
            "DashboardUrl": self.dashboard_url,
            "ModelId": self.model_id,
            "EmbeddingModelId": self.embedding_model_id,
        }
        params = {
            key: value
            for key, value in params.items()
            if value or key in ("TablePrefix", "SenderEmail", "OidcDiscoveryUrl")
        }
        return {**params, **self.extra_parameters}


def profile_for(region: str) -> str:
    """The geographic cross-region inference profile of a region (`global` where none applies)."""
    for prefix, profile in (("us-", "us"), ("eu-", "eu"), ("ap-", "apac")):
        if region.startswith(prefix):
            return profile
    return "global"


def resolve_region(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    region = explicit or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise DeployError("no AWS region: pass --region or set AWS_REGION")
    return region


def boto_clients(region: str, endpoint_url: str | None = None) -> BotoClients:
    """Real clients for the region; a clear error when the AWS chain has no credentials."""
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise DeployError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    config = Config(retries={"max_attempts": 5, "mode": "standard"})

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]

    return BotoClients(
        cloudformation=client("cloudformation"),
        s3=client("s3"),
        agentcore=client("bedrock-agentcore-control"),
        secrets=client("secretsmanager"),
        sts=client("sts"),
    )


__all__ = ["AwsClients", "BotoClients", "DEFAULT_MODEL_ID", "Target", "boto_clients", "resolve_region"]
