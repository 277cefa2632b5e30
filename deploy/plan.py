"""What a deployment would change, computed from what is there: reads only, no side effects.

`observe` reads the account (stack, secrets, package object, runtimes); `plan` turns the target and
that observation into a list of `Action`s; `--plan` prints them and `--apply` (`deploy.apply`) executes
them. Because the plan compares against what exists, re-applying an unchanged deployment plans
nothing but "unchanged" lines, and a changed one updates in place instead of creating twins.

The three AgentCore runtimes share one code package and differ by entry point, protocol, role and
the one custom header AgentCore forwards to them (see docs/aws.md, "Inbound auth").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from deploy.errors import DeployError
from deploy.package import Package
from deploy.target import AwsClients, Target
from deploy.template import build_template

CUSTOM_AUTHORIZATION = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Authorization"
"""The Oratio admin token's header behind AgentCore (AgentCore keeps `Authorization` for its own JWT)."""
CUSTOM_API_KEY = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Api-Key"
"""The agent API key's header behind AgentCore (`agentcore_apps.contract.AGENTCORE_API_KEY_HEADER`)."""
PYTHON_RUNTIME = "PYTHON_3_11"
SECRET_ENV = frozenset({"ORATIO_JWT_SECRET", "ORATIO_WEBHOOK_SECRET"})
SECRETS = {"ORATIO_JWT_SECRET": "jwt", "ORATIO_WEBHOOK_SECRET": "webhooks"}
PENDING_MARK = "<from stack output "
_PENDING = PENDING_MARK + "{}>"
"""Stands for a value the stack will provide: shown by --plan, refused by --apply."""


@dataclass(frozen=True)
class RuntimeSpec:
    suffix: str
    entry_point: str
    protocol: str
    role_output: str
    header: str
    description: str


RUNTIMES = (
    RuntimeSpec("mcp_server", "oratio_mcp_server.py", "MCP", "McpServerRoleArn", CUSTOM_AUTHORIZATION, "Oratio MCP"),
    RuntimeSpec("creator", "oratio_creator.py", "HTTP", "CreatorRoleArn", CUSTOM_AUTHORIZATION, "AgentCreator"),
    RuntimeSpec("agents", "oratio_agents.py", "HTTP", "AgentsRoleArn", CUSTOM_API_KEY, "Oratio customer agents"),
)


@dataclass(frozen=True)
class Observed:
    """The account as it is now, as far as this deployment is concerned."""

    account: str
    stack_status: str | None = None
    stack_template: Mapping[str, Any] | None = None
    stack_parameters: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # secret name -> value (never printed)
    package_exists: bool = False
    runtimes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> get_agent_runtime


@dataclass(frozen=True)
class Action:
    verb: str  # create | update | upload | unchanged
    kind: str  # stack | secret | package | runtime
    name: str
    detail: str = ""
    request: Mapping[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mark = {"create": "+", "update": "~", "upload": "+", "unchanged": "="}[self.verb]
        return f"{mark} {self.verb:<9} {self.kind:<8} {self.name}" + (f"  ({self.detail})" if self.detail else "")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def observe(clients: AwsClients, target: Target, package: Package) -> Observed:
    """Read the stack, secrets, package object and runtimes. Raises DeployError for unusable credentials."""
    try:
        account = str(clients.sts.get_caller_identity()["Account"])
    except ClientError as exc:
        raise DeployError(f"the AWS credentials were refused ({_code(exc)}); check AWS_PROFILE or the keys") from exc
    status, template, parameters, outputs = None, None, {}, {}
    try:
        stack = clients.cloudformation.describe_stacks(StackName=target.stack)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise DeployError(f"could not read stack {target.stack} ({_code(exc)})") from exc
    else:
        status = str(stack["StackStatus"])
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        # boto3 hands back JSON templates parsed (moto re-serialised): compare structure, not bytes.
        body = clients.cloudformation.get_template(StackName=target.stack)["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body
    secrets: dict[str, str] = {}
    for name in SECRETS.values():
        try:
            value = clients.secrets.get_secret_value(SecretId=f"{target.stack}/{name}")
            secrets[name] = str(value["SecretString"])
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise DeployError(f"could not read secret {target.stack}/{name} ({_code(exc)})") from exc
    bucket = code_bucket(target, account)
    package_exists = False
    try:
        clients.s3.head_object(Bucket=bucket, Key=package.key)
        package_exists = True
    except ClientError as exc:
        if _code(exc) not in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            raise DeployError(f"could not read s3://{bucket} ({_code(exc)})") from exc
    runtimes: dict[str, Mapping[str, Any]] = {}
    wanted = {runtime_name(target, spec) for spec in RUNTIMES}
    for page in _runtime_pages(clients):
        for summary in page:
            if summary["agentRuntimeName"] in wanted:
                detail = clients.agentcore.get_agent_runtime(agentRuntimeId=summary["agentRuntimeId"])
                runtimes[summary["agentRuntimeName"]] = detail
    return Observed(account, status, template, parameters, outputs, secrets, package_exists, runtimes)


def _runtime_pages(clients: AwsClients) -> list[list[Mapping[str, Any]]]:
    pages: list[list[Mapping[str, Any]]] = []
    token: str | None = None
    while True:
        out = clients.agentcore.list_agent_runtimes(**({"nextToken": token} if token else {}))
        pages.append(list(out.get("agentRuntimes", [])))
        token = out.get("nextToken")
        if not token:
            return pages


def runtime_name(target: Target, spec: RuntimeSpec) -> str:
    return f"{target.runtime_prefix}_{spec.suffix}"


def code_bucket(target: Target, account: str) -> str:
    return target.code_bucket or f"{target.stack}-blobs-{account}-{target.region}"


def runtime_environment(target: Target, observed: Observed) -> dict[str, str]:
    """The ORATIO_* settings every runtime gets: the same code as locally, pointed at AWS."""
    out = observed.outputs
    env = {
        "ORATIO_STORE": "dynamodb",
        "ORATIO_DYNAMODB_TABLE_PREFIX": out.get("TablePrefix", "oratio_"),
        "ORATIO_BLOBS": "s3",
        "ORATIO_S3_BUCKET": out.get("BlobBucket", f"{target.stack}-blobs-{observed.account}-{target.region}"),
        "ORATIO_S3_PREFIX": out.get("BlobPrefix", "data/"),
        "ORATIO_AWS_REGION": target.region,
        "ORATIO_MODEL": target.model,
        "ORATIO_DATA_DIR": "/tmp/oratio",  # scratch only: nothing durable lives in a microVM
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_KMS_KEY_ID": out.get("SecretsKeyArn", _PENDING.format("SecretsKeyArn")),
    }
    for variable, name in SECRETS.items():
        env[variable] = observed.secrets.get(name, _PENDING.format(f"secret {target.stack}/{name}"))
    if target.sender_email:
        env |= {"ORATIO_EMAIL": "ses", "ORATIO_EMAIL_FROM": target.sender_email}
    if target.knowledge_storage is not None:
        env |= {
            "ORATIO_KNOWLEDGE": "bedrock",
            "ORATIO_BEDROCK_KB_BUCKET": out.get("KnowledgeBucket", _PENDING.format("KnowledgeBucket")),
            "ORATIO_BEDROCK_KB_ROLE_ARN": out.get("KnowledgeBaseRoleArn", _PENDING.format("KnowledgeBaseRoleArn")),
            "ORATIO_BEDROCK_EMBEDDING_MODEL_ARN": (
                f"arn:aws:bedrock:{target.region}::foundation-model/{target.embedding_model_id}"
            ),
            "ORATIO_BEDROCK_KB_STORAGE": target.knowledge_storage,
        }
    return env


def dashboard_environment(target: Target, observed: Observed) -> dict[str, str]:
    """The sign-in settings of the dashboard (`oratio serve` behind TLS at `--dashboard-url`), beside the runtime
    settings above: people sign in through the stack's Cognito pool (its dashboard client) or `--oidc-discovery-url`'s
    issuer, and only there (ORATIO_SIGNIN_PASSWORDS=false: Cognito owns passwords, lockout and MFA). Nothing
    secret: the Cognito client is public (PKCE). Empty without `--dashboard-url`."""
    if not target.dashboard_url:
        return {}
    out = observed.outputs
    own_issuer = bool(target.oidc_discovery_url)
    return {
        "ORATIO_PUBLIC_URL": target.dashboard_url,
        "ORATIO_OIDC_DISCOVERY_URL": out.get(
            "DiscoveryUrl", target.oidc_discovery_url or _PENDING.format("DiscoveryUrl")
        ),
        "ORATIO_OIDC_CLIENT_ID": target.oidc_dashboard_client
        if own_issuer
        else out.get("DashboardClientId", _PENDING.format("DashboardClientId")),
        "ORATIO_OIDC_NAME": "your organisation" if own_issuer else "Cognito",
        "ORATIO_SIGNIN_PASSWORDS": "false",
    }


def runtime_request(target: Target, observed: Observed, spec: RuntimeSpec, package: Package) -> dict[str, Any]:
    """The create_agent_runtime arguments for one runtime (update takes the same minus the name)."""
    out = observed.outputs
    clients = [c for c in out.get("AllowedClients", target.oidc_clients).split(",") if c]
    return {
        "agentRuntimeName": runtime_name(target, spec),
        "description": spec.description,
        "agentRuntimeArtifact": {
            "codeConfiguration": {
                "code": {"s3": {"bucket": code_bucket(target, observed.account), "prefix": package.key}},
                "runtime": PYTHON_RUNTIME,
                "entryPoint": [spec.entry_point],
            }
        },
        "roleArn": out.get(spec.role_output, _PENDING.format(spec.role_output)),
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "protocolConfiguration": {"serverProtocol": spec.protocol},
        "authorizerConfiguration": {
            "customJWTAuthorizer": {
                "discoveryUrl": out.get("DiscoveryUrl", target.oidc_discovery_url or _PENDING.format("DiscoveryUrl")),
                "allowedClients": clients or [_PENDING.format("AllowedClients")],
            }
        },
        "requestHeaderConfiguration": {"requestHeaderAllowlist": [spec.header]},
        "environmentVariables": runtime_environment(target, observed),
    }


_COMPARED = (
    "agentRuntimeArtifact",
    "roleArn",
    "networkConfiguration",
    "protocolConfiguration",
    "authorizerConfiguration",
    "requestHeaderConfiguration",
    "environmentVariables",
    "description",
)


def runtime_changes(current: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    return [key for key in _COMPARED if current.get(key) != request.get(key)]


def plan(target: Target, observed: Observed, package: Package) -> list[Action]:
    actions: list[Action] = []
    parameters = target.parameters()
    if observed.stack_status is None:
        actions.append(Action("create", "stack", target.stack, "tables, buckets, roles, inbound auth"))
    else:
        stale = observed.stack_template != build_template() or any(
            observed.stack_parameters.get(key, "") != value for key, value in parameters.items()
        )
        settled = observed.stack_status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
        verb = "update" if stale or not settled else "unchanged"  # apply refuses a failed or busy stack
        actions.append(Action(verb, "stack", target.stack, observed.stack_status.lower()))
    for name in SECRETS.values():
        verb = "unchanged" if name in observed.secrets else "create"
        actions.append(Action(verb, "secret", f"{target.stack}/{name}", "random, 64 characters"))
    bucket = code_bucket(target, observed.account)
    verb = "unchanged" if observed.package_exists else "upload"
    actions.append(Action(verb, "package", f"s3://{bucket}/{package.key}", f"{len(package.data):,} bytes"))
    for spec in RUNTIMES:
        name = runtime_name(target, spec)
        request = runtime_request(target, observed, spec, package)
        current = observed.runtimes.get(name)
        if current is None:
            actions.append(Action("create", "runtime", name, f"{spec.protocol}, {spec.entry_point}", request))
            continue
        changes = runtime_changes(current, request)
        verb = "update" if changes else "unchanged"
        actions.append(Action(verb, "runtime", name, ", ".join(changes) or spec.protocol, request))
    return actions


def endpoint_url(region: str, runtime_arn: str) -> str:
    """The HTTPS endpoint clients call (for MCP, the MCP client's server URL)."""
    return (
        f"https://bedrock-agentcore.{region}.amazonaws.com/runtimes/{quote(runtime_arn, safe='')}"
        "/invocations?qualifier=DEFAULT"
    )


def redacted(request: Mapping[str, Any]) -> dict[str, Any]:
    """A request fit to print: secret environment values replaced."""
    env = {k: ("<secret>" if k in SECRET_ENV else v) for k, v in request.get("environmentVariables", {}).items()}
    return {**request, "environmentVariables": env}


__all__ = [
    "CUSTOM_API_KEY",
    "CUSTOM_AUTHORIZATION",
    "RUNTIMES",
    "Action",
    "Observed",
    "endpoint_url",
    "observe",
    "plan",
    "redacted",
    "runtime_environment",
    "runtime_request",
]
