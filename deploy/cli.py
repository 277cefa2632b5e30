"""`oratio deploy aws --plan | --apply`: the command line of the AWS deployment.

`oratio_app.cli` registers the parser and calls `run`; nothing here opens the platform (a deployment
needs no local data). `ORATIO_AWS_ENDPOINT_URL` points every client at another endpoint (moto_server
in tests), exactly like the runtime adapters.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from deploy.apply import apply
from deploy.errors import DeployError
from deploy.package import build_package, install_dependencies, pinned_requirements
from deploy.plan import observe, plan
from deploy.target import DEFAULT_MODEL_ID, ENDPOINT_ENV, AwsClients, Target, boto_clients, resolve_region


def add_parser(commands: Any) -> None:
    """Register `deploy aws` on the `oratio` sub-command parser."""
    deploy = commands.add_parser("deploy", help="deploy Oratio to a cloud").add_subparsers(dest="target", required=True)
    aws = deploy.add_parser("aws", help="CloudFormation stack + AgentCore runtimes (see docs/aws.md)")
    mode = aws.add_mutually_exclusive_group(required=True)
    mode.add_argument("--plan", action="store_true", help="print what would change; change nothing")
    mode.add_argument("--apply", action="store_true", help="make the changes, then print the endpoints")
    aws.add_argument("--region", help="AWS region (default: AWS_REGION)")
    aws.add_argument("--stack", default="oratio", help="stack name; also names buckets and runtimes")
    aws.add_argument("--table-prefix", default="oratio_", help="DynamoDB table name prefix")
    aws.add_argument("--model-id", default=DEFAULT_MODEL_ID, help="Bedrock model id of agents and the AgentCreator")
    aws.add_argument(
        "--model-profile",
        default=None,
        help="inference profile prefix: us, eu, apac, global or '' (default: by region)",
    )
    aws.add_argument("--sender-email", default="", help="SES identity for handoff emails")
    aws.add_argument("--oidc-discovery-url", default="", help="existing OIDC issuer instead of a new Cognito pool")
    aws.add_argument("--oidc-clients", default="", help="comma-separated client ids allowed from that issuer")
    aws.add_argument(
        "--dashboard-url",
        default="",
        help="https URL people open the dashboard at: a Cognito client with its callback, and its sign-in settings",
    )
    aws.add_argument(
        "--oidc-dashboard-client", default="", help="with --oidc-discovery-url: the dashboard's client id there"
    )
    aws.add_argument("--kb-storage", type=Path, help="JSON file: Bedrock KB storageConfiguration (S3 Vectors index)")
    aws.add_argument("--code-bucket", help="existing bucket for code packages (default: the stack's blob bucket)")
    aws.add_argument("--no-dependencies", action="store_true", help="package Oratio's code only (no pip download)")
    aws.set_defaults(deploy_run=run)


def target_from(args: argparse.Namespace) -> Target:
    storage: str | None = None
    if args.kb_storage is not None:
        try:
            storage = json.dumps(json.loads(args.kb_storage.read_text()), separators=(",", ":"))
        except (OSError, ValueError) as exc:
            raise DeployError(f"--kb-storage {args.kb_storage}: not a readable JSON file ({exc})") from exc
    return Target(
        region=resolve_region(args.region),
        stack=args.stack,
        table_prefix=args.table_prefix,
        model_id=args.model_id,
        model_profile=args.model_profile,
        sender_email=args.sender_email,
        oidc_discovery_url=args.oidc_discovery_url,
        oidc_clients=args.oidc_clients,
        dashboard_url=args.dashboard_url,
        oidc_dashboard_client=args.oidc_dashboard_client,
        knowledge_storage=storage,
        code_bucket=args.code_bucket,
    )


def run(args: argparse.Namespace, clients: AwsClients | None = None) -> int:
    target = target_from(args)
    clients = clients or boto_clients(target.region, os.environ.get(ENDPOINT_ENV))
    requirements = pinned_requirements()
    with tempfile.TemporaryDirectory(prefix="oratio-deploy-") as scratch:
        dependencies = None
        if args.apply and not args.no_dependencies:
            print("fetching the Linux ARM64 dependencies (pip) ...", flush=True)
            dependencies = install_dependencies(requirements, Path(scratch) / "site")
        package = build_package(requirements, dependencies)
    if args.plan:
        observed = observe(clients, target, package)
        print(f"plan for stack {target.stack} in {target.region} (account {observed.account}):")
        for action in plan(target, observed, package):
            print("  " + action.line())
        if not args.no_dependencies:
            print("  (planned without dependencies: --apply adds them, so the package key will differ)")
        return 0
    outcome = apply(clients, target, package, report=lambda action: print("  " + action.line(), flush=True))
    print("endpoints:")
    for endpoint in outcome.endpoints:
        print("  " + endpoint.line())
    print("MCP clients send 'X-Amzn-Bedrock-AgentCore-Runtime-Custom-Authorization: Bearer <Oratio admin token>'")
    print("and 'Authorization: Bearer <token from the OIDC issuer>' (see docs/aws.md, Inbound auth).")
    if outcome.dashboard:
        print("dashboard sign-in settings (for `oratio serve` at --dashboard-url, beside the runtimes' settings):")
        for name, value in outcome.dashboard.items():
            print(f"  {name}={value}")
    return 0


__all__ = ["add_parser", "run"]
