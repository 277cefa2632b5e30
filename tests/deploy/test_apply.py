"""Plan and apply against a real moto_server (CloudFormation, S3, Secrets Manager, STS, AgentCore control),
and botocore's Stubber where the check is the request's shape against the AWS model itself."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from deploy.apply import apply
from deploy.errors import DeployError
from deploy.package import Package, build_package
from deploy.plan import (
    CUSTOM_API_KEY,
    CUSTOM_AUTHORIZATION,
    RUNTIMES,
    Observed,
    observe,
    plan,
    redacted,
    runtime_request,
)
from deploy.target import BotoClients, Target
from deploy.template import render
from tests.aws import REGION, MotoServer

pytestmark = pytest.mark.aws
_stacks = itertools.count()
ISSUER = "https://issuer.example/.well-known/openid-configuration"


class MotoAgentCore:
    """moto's AgentCore control client, except that an updated runtime becomes READY.

    moto's runtime state machine only knows CREATING -> READY: an update leaves it UPDATING forever,
    where AWS moves it on to READY. Everything else is passed straight to the moto_server client.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_agent_runtime(self, **kwargs: Any) -> dict[str, Any]:
        detail: dict[str, Any] = self._client.get_agent_runtime(**kwargs)
        if detail["status"] == "UPDATING":
            detail["status"] = "READY"
        return detail


def _clients(moto: MotoServer) -> BotoClients:
    return BotoClients(
        cloudformation=moto.client("cloudformation"),
        s3=moto.client("s3"),
        agentcore=MotoAgentCore(moto.client("bedrock-agentcore-control")),
        secrets=moto.client("secretsmanager"),
        sts=moto.client("sts"),
    )


def _target() -> Target:
    """A stack of its own, with its own table prefix (every test shares one moto_server)."""
    stack = f"dep{next(_stacks)}"
    return Target(
        region=REGION,
        stack=stack,
        oidc_discovery_url=ISSUER,
        oidc_clients="svc,adm",
        table_prefix=f"{stack}_",
    )


@pytest.fixture(scope="module")
def package() -> Package:
    return build_package(["anyio==4.6.0"])


def _runtimes(clients: BotoClients, target: Target) -> dict[str, dict[str, Any]]:
    summaries = clients.agentcore.list_agent_runtimes()["agentRuntimes"]
    return {
        s["agentRuntimeName"]: clients.agentcore.get_agent_runtime(agentRuntimeId=s["agentRuntimeId"])
        for s in summaries
        if s["agentRuntimeName"].startswith(target.runtime_prefix + "_")
    }


def test_plan_on_an_empty_account_creates_everything_and_changes_nothing(moto: MotoServer, package: Package) -> None:
    clients, target = _clients(moto), _target()
    lines = [a.line() for a in plan(target, observe(clients, target, package), package)]
    assert [line.split()[1:3] for line in lines] == [
        ["create", "stack"],
        ["create", "secret"],
        ["create", "secret"],
        ["upload", "package"],
        ["create", "runtime"],
        ["create", "runtime"],
        ["create", "runtime"],
    ]
    assert f"{target.runtime_prefix}_mcp_server" in lines[4]
    with pytest.raises(clients.cloudformation.exceptions.ClientError):
        clients.cloudformation.describe_stacks(StackName=target.stack)
    assert _runtimes(clients, target) == {}


def test_apply_deploys_the_stack_package_and_three_configured_runtimes(moto: MotoServer, package: Package) -> None:
    clients, target = _clients(moto), _target()
    outcome = apply(clients, target, package, poll_s=0)
    stack = clients.cloudformation.describe_stacks(StackName=target.stack)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    stored = clients.s3.get_object(Bucket=outputs["BlobBucket"], Key=package.key)["Body"].read()
    assert stored == package.data
    runtimes = _runtimes(clients, target)
    assert sorted(runtimes) == sorted(f"{target.runtime_prefix}_{spec.suffix}" for spec in RUNTIMES)
    mcp = runtimes[f"{target.runtime_prefix}_mcp_server"]
    code = mcp["agentRuntimeArtifact"]["codeConfiguration"]
    assert code == {
        "code": {"s3": {"bucket": outputs["BlobBucket"], "prefix": package.key}},
        "runtime": "PYTHON_3_11",
        "entryPoint": ["oratio_mcp_server.py"],
    }
    assert mcp["protocolConfiguration"] == {"serverProtocol": "MCP"}
    assert mcp["roleArn"] == outputs["McpServerRoleArn"]
    assert mcp["authorizerConfiguration"] == {
        "customJWTAuthorizer": {"discoveryUrl": ISSUER, "allowedClients": ["svc", "adm"]}
    }
    assert mcp["requestHeaderConfiguration"] == {"requestHeaderAllowlist": [CUSTOM_AUTHORIZATION]}
    agents = runtimes[f"{target.runtime_prefix}_agents"]
    assert agents["requestHeaderConfiguration"] == {"requestHeaderAllowlist": [CUSTOM_API_KEY]}
    env = agents["environmentVariables"]
    jwt = clients.secrets.get_secret_value(SecretId=f"{target.stack}/jwt")["SecretString"]
    assert env["ORATIO_JWT_SECRET"] == jwt and len(jwt) == 64
    assert env["ORATIO_STORE"] == "dynamodb" and env["ORATIO_BLOBS"] == "s3"
    assert (
        env["ORATIO_S3_BUCKET"] == outputs["BlobBucket"] and env["ORATIO_DYNAMODB_TABLE_PREFIX"] == f"{target.stack}_"
    )
    assert [e.name for e in outcome.endpoints] == [f"{target.runtime_prefix}_{s.suffix}" for s in RUNTIMES]
    assert outcome.endpoints[0].url.startswith(f"https://bedrock-agentcore.{REGION}.amazonaws.com/runtimes/arn%3A")
    assert outcome.endpoints[0].url.endswith("/invocations?qualifier=DEFAULT")


def test_reapply_changes_nothing_and_creates_no_twins(moto: MotoServer, package: Package) -> None:
    clients, target = _clients(moto), _target()
    apply(clients, target, package, poll_s=0)
    before = _runtimes(clients, target)
    again = apply(clients, target, package, poll_s=0)
    assert {a.verb for a in again.actions} == {"unchanged"}
    after = _runtimes(clients, target)
    assert sorted(after) == sorted(before)
    assert {n: r["agentRuntimeVersion"] for n, r in after.items()} == {
        n: r["agentRuntimeVersion"] for n, r in before.items()
    }
    assert (
        clients.secrets.get_secret_value(SecretId=f"{target.stack}/jwt")["SecretString"]
        == (before[f"{target.runtime_prefix}_agents"]["environmentVariables"]["ORATIO_JWT_SECRET"])
    )


def test_a_changed_target_updates_the_stack_and_runtimes_in_place(moto: MotoServer, package: Package) -> None:
    clients, target = _clients(moto), _target()
    apply(clients, target, package, poll_s=0)
    before = _runtimes(clients, target)
    changed = replace(target, sender_email="ops@acme.example")
    verbs = {(a.kind, a.verb) for a in plan(changed, observe(clients, changed, package), package)}
    assert ("stack", "update") in verbs and ("runtime", "update") in verbs
    apply(clients, changed, package, poll_s=0)
    after = _runtimes(clients, target)
    assert sorted(after) == sorted(before)
    for name, runtime in after.items():
        assert runtime["agentRuntimeId"] == before[name]["agentRuntimeId"]
        assert runtime["environmentVariables"]["ORATIO_EMAIL"] == "ses"
        assert runtime["environmentVariables"]["ORATIO_EMAIL_FROM"] == "ops@acme.example"
    stack = clients.cloudformation.describe_stacks(StackName=target.stack)["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["SenderEmail"] == "ops@acme.example"


def test_printed_requests_hide_the_secrets(moto: MotoServer, package: Package) -> None:
    clients, target = _clients(moto), _target()
    apply(clients, target, package, poll_s=0)
    observed = observe(clients, target, package)
    request = runtime_request(target, observed, RUNTIMES[0], package)
    shown = redacted(request)["environmentVariables"]
    assert shown["ORATIO_JWT_SECRET"] == shown["ORATIO_WEBHOOK_SECRET"] == "<secret>"
    assert observed.secrets["jwt"] not in repr(redacted(request))


def _stubbed_agentcore() -> tuple[Any, Stubber]:
    client = boto3.client(
        "bedrock-agentcore-control",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def _observed() -> Observed:
    return Observed(
        account="123456789012",
        stack_status="CREATE_COMPLETE",
        outputs={
            "McpServerRoleArn": "arn:aws:iam::123456789012:role/oratio-McpServerRole-X",
            "CreatorRoleArn": "arn:aws:iam::123456789012:role/oratio-CreatorRole-X",
            "AgentsRoleArn": "arn:aws:iam::123456789012:role/oratio-AgentsRole-X",
            "DiscoveryUrl": ISSUER,
            "AllowedClients": "svc,adm",
            "BlobBucket": "oratio-blobs-123456789012-us-east-1",
            "SecretsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        secrets={"jwt": "j" * 64, "webhooks": "w" * 64},
    )


def test_every_runtime_request_is_valid_against_the_agentcore_model(package: Package) -> None:
    """Stubber checks parameters against botocore's service model, which moto does not."""
    client, stubber = _stubbed_agentcore()
    target = Target(region=REGION, stack="oratio")
    for spec in RUNTIMES:
        request = runtime_request(target, _observed(), spec, package)
        response = {
            "agentRuntimeArn": f"arn:aws:bedrock-agentcore:{REGION}:123456789012:runtime/{spec.suffix}-abc",
            "agentRuntimeId": f"{spec.suffix}-abc",
            "agentRuntimeVersion": "1",
            "createdAt": "2026-11-29T00:00:00Z",
            "status": "CREATING",
        }
        stubber.add_response("create_agent_runtime", response, request)
        with stubber:
            assert client.create_agent_runtime(**request)["agentRuntimeId"] == f"{spec.suffix}-abc"
        stubber.assert_no_pending_responses()


def test_an_agentcore_refusal_is_one_clear_deploy_error(moto: MotoServer, package: Package) -> None:
    agentcore, stubber = _stubbed_agentcore()
    clients = replace(_clients(moto), agentcore=agentcore)
    target = _target()
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []})
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []})
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []})
    stubber.add_client_error(
        "create_agent_runtime",
        service_error_code="ValidationException",
        service_message="Runtime PYTHON_3_11 is not supported in this Region",
        http_status_code=400,
    )
    with stubber, pytest.raises(DeployError, match=r"create runtime .*_mcp_server failed \(ValidationException\)"):
        apply(clients, target, package, poll_s=0)


def test_a_stack_whose_creation_failed_is_named_not_updated(moto: MotoServer, package: Package) -> None:
    cloudformation = boto3.client(
        "cloudformation", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(cloudformation)
    clients, target = replace(_clients(moto), cloudformation=cloudformation), _target()
    stack = {"StackName": target.stack, "CreationTime": "2026-11-29T00:00:00Z", "StackStatus": "ROLLBACK_COMPLETE"}
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": target.stack})
    stubber.add_response("get_template", {"TemplateBody": "{}"}, {"StackName": target.stack})
    with stubber, pytest.raises(DeployError, match=f"stack {target.stack} is ROLLBACK_COMPLETE: delete it"):
        apply(clients, target, package, poll_s=0)
    stubber.assert_no_pending_responses()  # and no create_stack/update_stack was attempted


def test_a_runtime_is_not_created_with_a_value_the_stack_did_not_provide(moto: MotoServer, package: Package) -> None:
    """A stack (stubbed: moto makes no Cognito pool) whose outputs lack AllowedClients stops the apply, one line."""
    cloudformation = boto3.client(
        "cloudformation", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(cloudformation)
    clients = replace(_clients(moto), cloudformation=cloudformation)
    name = f"dep{next(_stacks)}"
    target = Target(region=REGION, stack=name, table_prefix=f"{name}_")  # Cognito: clients come from the stack
    bucket = f"{target.stack}-blobs-123456789012-{REGION}"
    moto.client("s3").create_bucket(Bucket=bucket)
    outputs = {**_observed().outputs, "BlobBucket": bucket}
    del outputs["AllowedClients"]
    stack = {
        "StackName": target.stack,
        "CreationTime": "2026-11-29T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in target.parameters().items()],
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
    }
    for _ in range(3):  # observed before the stack step, after it, and after secrets and package
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": target.stack})
        stubber.add_response("get_template", {"TemplateBody": render()}, {"StackName": target.stack})
    with stubber, pytest.raises(DeployError, match=r"_mcp_server needs AllowedClients, which the stack did not"):
        apply(clients, target, package, poll_s=0)
    assert _runtimes(clients, target) == {}
