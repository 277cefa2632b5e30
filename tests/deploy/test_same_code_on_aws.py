"""Only configuration differs on AWS: the platform, configured with exactly the environment the deployment
gives its runtimes, runs on the tables and bucket the stack created (moto_server's CloudFormation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.apply import apply
from deploy.package import build_package
from deploy.plan import observe, runtime_environment
from deploy.target import Target
from oratio.config import load_settings
from oratio.platform import open_platform
from schemas import AgentSpec, CreateAgent, DocumentContent, DocumentFormat, Principal
from tests.aws import REGION, MotoServer
from tests.deploy.test_apply import ISSUER, _clients

pytestmark = pytest.mark.aws


def test_the_runtime_environment_opens_a_working_platform_on_the_stack(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients = _clients(moto)
    target = Target(
        region=REGION,
        stack="samecode",
        oidc_discovery_url=ISSUER,
        oidc_clients="svc",
        table_prefix="samecode_",
    )
    package = build_package([])
    apply(clients, target, package, poll_s=0)
    env = runtime_environment(target, observe(clients, target, package))
    env |= {"ORATIO_AWS_ENDPOINT_URL": moto.endpoint_url, "ORATIO_DATA_DIR": str(tmp_path)}
    settings = load_settings(env)
    assert settings.store.value == "dynamodb" and settings.blobs.value == "s3"

    with open_platform(settings) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        admin = platform.tenants.create_admin(tenant.tenant_id, "ops@acme.example", "Ops")
        principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
        faq = DocumentContent(name="faq.md", format=DocumentFormat.MARKDOWN, content=b"# Refunds\n\nWithin 30 days.")
        spec = AgentSpec(name="Support", sop="Greet the customer and answer from the knowledge base.")
        agent = platform.agents.create(principal, CreateAgent(spec=spec, documents=[faq]))
        assert platform.access.admin_principal(platform.access.token_for(admin)).tenant_id == tenant.tenant_id
        assert [a.id for a in platform.agents.list(principal).items] == [agent.id]
        assert sum(platform.backends.events.head(tenant.tenant_id).positions) >= 1
        # Tenant secrets are wrapped by the stack's KMS key (ORATIO_KMS_KEY_ID from its outputs).
        platform.secrets.put(principal, "ORDERS_TOKEN", "same-code-secret")
        assert platform.secrets.resolve(tenant.tenant_id, "ORDERS_TOKEN") == "same-code-secret"

    assert env["ORATIO_KMS_KEY_ID"].startswith("arn:aws:kms:")
    [stored] = moto.client("dynamodb").scan(TableName="samecode_secrets")["Items"]
    assert json.loads(stored["body"]["S"])["key_id"] == env["ORATIO_KMS_KEY_ID"]
    assert "same-code-secret" not in str(stored)
    items = moto.client("dynamodb").scan(TableName="samecode_agents")["Items"]
    assert [item["sk"]["S"] for item in items] == [agent.id]
    objects = moto.client("s3").list_objects_v2(Bucket=env["ORATIO_S3_BUCKET"], Prefix="data/")["Contents"]
    assert [o["Key"].split("/")[1:3] for o in objects] == [[tenant.tenant_id, "documents"]]
