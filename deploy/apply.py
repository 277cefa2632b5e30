"""Execute a plan through the AWS clients, idempotently, and report the runtimes' endpoints.

Order matters: the stack first (it makes the bucket and roles the rest needs), then the shared
secrets and the code package, then the runtimes. After the stack step the account is observed
again, so the runtime requests carry the stack's real outputs. Each step is keyed by a stable name
(stack name, secret name, content-addressed package key, runtime name), so re-running `--apply`
after a failure continues where it stopped, and re-running it after success changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import secrets as random_secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from deploy.errors import DeployError
from deploy.package import Package
from deploy.plan import (
    PENDING_MARK,
    RUNTIMES,
    Action,
    dashboard_environment,
    endpoint_url,
    observe,
    plan,
    runtime_name,
)
from deploy.target import AwsClients, Target
from deploy.template import render

logger = logging.getLogger("oratio.deploy")

_FAILED_STACK = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "CREATE_FAILED")
_NO_UPDATES = "No updates are to be performed"


@dataclass(frozen=True)
class Endpoint:
    name: str
    protocol: str
    arn: str
    url: str

    def line(self) -> str:
        return f"{self.name:<28} {self.protocol:<5} {self.url}"


@dataclass(frozen=True)
class Outcome:
    actions: list[Action]
    endpoints: list[Endpoint]
    dashboard: dict[str, str] = field(default_factory=dict)
    """The dashboard's sign-in settings (`deploy.plan.dashboard_environment`); empty without --dashboard-url."""


def _fail(what: str, exc: ClientError) -> DeployError:
    code = exc.response.get("Error", {}).get("Code", "error")
    message = exc.response.get("Error", {}).get("Message", "")
    return DeployError(f"{what} failed ({code}): {message[:200]}")


def _stack(clients: AwsClients, target: Target, action: Action, wait_delay: float) -> None:
    if action.detail.upper() in _FAILED_STACK:
        raise DeployError(f"stack {target.stack} is {action.detail.upper()}: delete it, then apply again")
    if action.verb == "unchanged":
        return
    cfn = clients.cloudformation
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in target.parameters().items()]
    arguments: dict[str, Any] = {
        "StackName": target.stack,
        "TemplateBody": render(),
        "Parameters": parameters,
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "oratio:stack", "Value": target.stack}],
    }
    try:
        if action.verb == "create":
            cfn.create_stack(**arguments, OnFailure="ROLLBACK")
            waiter = "stack_create_complete"
        else:
            cfn.update_stack(**arguments)
            waiter = "stack_update_complete"
    except ClientError as exc:
        if _NO_UPDATES in str(exc):
            return
        raise _fail(f"{action.verb} stack {target.stack}", exc) from exc
    try:
        cfn.get_waiter(waiter).wait(
            StackName=target.stack, WaiterConfig={"Delay": max(int(wait_delay), 1), "MaxAttempts": 360}
        )
    except WaiterError as exc:
        raise DeployError(f"stack {target.stack} did not finish: see its events in the CloudFormation console") from exc


def _secret(clients: AwsClients, name: str) -> None:
    try:
        clients.secrets.create_secret(
            Name=name,
            Description="Oratio: shared by every runtime of this deployment",
            SecretString=random_secrets.token_hex(32),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
            raise _fail(f"create secret {name}", exc) from exc


def _upload(clients: AwsClients, bucket: str, package: Package) -> None:
    try:
        clients.s3.put_object(
            Bucket=bucket, Key=package.key, Body=package.data, ContentType="application/zip", ChecksumAlgorithm="SHA256"
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            raise DeployError(f"bucket {bucket} does not exist: apply the stack first, or check --code-bucket") from exc
        raise _fail(f"upload to s3://{bucket}", exc) from exc


def _runtime(clients: AwsClients, action: Action, current_id: str | None) -> str:
    request = dict(action.request)
    if PENDING_MARK in json.dumps(request):
        missing = sorted(set(re.findall(r"<from stack output ([^>]+)>", json.dumps(request))))
        raise DeployError(f"runtime {action.name} needs {', '.join(missing)}, which the stack did not provide")
    try:
        if action.verb == "create":
            out = clients.agentcore.create_agent_runtime(**request)
        else:
            assert current_id is not None
            request.pop("agentRuntimeName")
            out = clients.agentcore.update_agent_runtime(agentRuntimeId=current_id, **request)
    except ClientError as exc:
        raise _fail(f"{action.verb} runtime {action.name}", exc) from exc
    return str(out["agentRuntimeId"])


def _wait_ready(clients: AwsClients, runtime_id: str, name: str, poll_s: float, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        detail: dict[str, Any] = clients.agentcore.get_agent_runtime(agentRuntimeId=runtime_id)
        status = detail.get("status", "")
        if status == "READY":
            return detail
        if status.endswith("FAILED"):
            reason = detail.get("failureReason", "no reason given")
            raise DeployError(f"runtime {name} is {status}: {reason}")
        if time.monotonic() > deadline:
            raise DeployError(f"runtime {name} was not READY after {timeout_s:.0f}s (status {status})")
        time.sleep(poll_s)


def apply(
    clients: AwsClients,
    target: Target,
    package: Package,
    *,
    poll_s: float = 5.0,
    timeout_s: float = 900.0,
    report: Callable[[Action], None] = lambda action: None,
) -> Outcome:
    """Bring the account to the target. Returns what was done and the runtimes' endpoints."""
    observed = observe(clients, target, package)
    done: list[Action] = []
    stack_action = plan(target, observed, package)[0]
    _stack(clients, target, stack_action, poll_s)
    report(stack_action)
    done.append(stack_action)
    observed = observe(clients, target, package)  # the stack's outputs, now that it exists
    for action in plan(target, observed, package)[1:]:
        if action.kind == "secret" and action.verb == "create":
            _secret(clients, action.name)
        elif action.kind == "package" and action.verb == "upload":
            _upload(clients, action.name.removeprefix("s3://").split("/", 1)[0], package)
        elif action.kind == "runtime":
            continue
        report(action)
        done.append(action)
    observed = observe(clients, target, package)
    # Secrets may have been created above: plan the runtimes again with their values.
    runtime_actions = [a for a in plan(target, observed, package) if a.kind == "runtime"]
    endpoints: list[Endpoint] = []
    for spec, action in zip(RUNTIMES, runtime_actions, strict=True):
        current = observed.runtimes.get(runtime_name(target, spec))
        runtime_id = str(current["agentRuntimeId"]) if current is not None else None
        if action.verb != "unchanged":
            runtime_id = _runtime(clients, action, runtime_id)
        report(action)
        done.append(action)
        assert runtime_id is not None
        detail = _wait_ready(clients, runtime_id, action.name, poll_s, timeout_s)
        arn = str(detail["agentRuntimeArn"])
        endpoints.append(Endpoint(action.name, spec.protocol, arn, endpoint_url(target.region, arn)))
    logger.info("stack=%s runtimes=%d | deployed", target.stack, len(endpoints))
    return Outcome(done, endpoints, dashboard_environment(target, observed))


__all__ = ["Endpoint", "Outcome", "apply"]
