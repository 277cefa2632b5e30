"""The CloudFormation template: current, lint-clean, and the tables the code uses, key for key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.iam import RUNTIME_WRITES, WILDCARD_ACTIONS
from deploy.template import TEMPLATE_PATH, build_template, render, table_logical_id
from oratio.store.dynamodb import create_dynamodb_tables, table_definitions
from tests.aws import MotoServer

Json = dict[str, Any]


def _resources(kind: str) -> dict[str, Json]:
    return {k: v for k, v in build_template()["Resources"].items() if v["Type"] == kind}


def _statements(role: str) -> list[Json]:
    policy = build_template()["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    return [s for s in policy["Statement"] if "Fn::If" not in s]


def test_the_committed_template_is_the_generated_one() -> None:
    assert TEMPLATE_PATH.read_text() == render(), "run: python -m deploy.template"


def test_cfn_lint_passes_on_the_committed_template() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_of_the_code_is_in_the_template_with_pitr_sse_and_retain() -> None:
    tables = _resources("AWS::DynamoDB::Table")
    names = [d["TableName"] for d in table_definitions("")]
    assert sorted(tables) == sorted(table_logical_id(n) for n in names)
    for resource in tables.values():
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert resource["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    events = tables[table_logical_id("events")]["Properties"]
    assert events["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def _shape(table: Json) -> Json:
    """What must agree between two tables: keys, attribute types, indexes, streams, billing."""
    return {
        "keys": table["KeySchema"],
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
        "indexes": sorted(
            (i["IndexName"], json.dumps(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in table.get("GlobalSecondaryIndexes", [])
        ),
        "stream": table.get("StreamSpecification", {}).get("StreamViewType"),
        "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
    }


@pytest.mark.aws
def test_stack_tables_in_moto_match_create_dynamodb_tables(moto: MotoServer) -> None:
    """CloudFormation (moto's) creates the template's tables; the adapter's own creator makes the reference."""
    cfn = moto.client("cloudformation")
    cfn.create_stack(
        StackName="tables-match",
        TemplateBody=render(),
        Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": "cfn_"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert cfn.describe_stacks(StackName="tables-match")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    dynamodb = moto.client("dynamodb")
    create_dynamodb_tables(dynamodb, "ref_")
    for definition in table_definitions(""):
        name = definition["TableName"]
        deployed = dynamodb.describe_table(TableName=f"cfn_{name}")["Table"]
        reference = dynamodb.describe_table(TableName=f"ref_{name}")["Table"]
        assert _shape(deployed) == _shape(reference), name


@pytest.mark.aws
def test_stack_buckets_in_moto_are_encrypted(moto: MotoServer) -> None:
    cfn = moto.client("cloudformation")
    cfn.create_stack(
        StackName="buckets",
        TemplateBody=render(),
        Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": "bkt_"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="buckets")["Stacks"][0]["Outputs"]
    }
    s3 = moto.client("s3")
    for key in ("BlobBucket", "KnowledgeBucket", "RecordingsBucket"):
        bucket = outputs[key]
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_every_bucket_blocks_public_access() -> None:
    """Structural only: moto's CloudFormation applies neither the public access block nor versioning."""
    for resource in _resources("AWS::S3::Bucket").values():
        block = resource["Properties"]["PublicAccessBlockConfiguration"]
        assert block == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        assert resource["Properties"]["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    blobs = build_template()["Resources"]["BlobBucket"]["Properties"]  # moto ignores versioning too
    assert blobs["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_denies_plain_http() -> None:
    policies = _resources("AWS::S3::BucketPolicy")
    assert len(policies) == len(_resources("AWS::S3::Bucket")) == 3
    for policy in policies.values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_policies_name_no_wildcard_action_and_wildcard_resources_only_where_aws_requires() -> None:
    roles = _resources("AWS::IAM::Role")
    assert set(roles) == {"McpServerRole", "CreatorRole", "AgentsRole", "VoiceBridgeRole", "KnowledgeBaseRole"}
    for role in roles:
        for statement in _statements(role):
            assert all("*" not in action for action in statement["Action"]), (role, statement["Sid"])
            if statement["Resource"] == "*":
                assert set(statement["Action"]) <= set(WILDCARD_ACTIONS), (role, statement["Sid"])
            else:
                assert isinstance(statement["Resource"], list) and statement["Resource"]


def test_customer_side_roles_write_only_conversation_tables() -> None:
    for role in ("AgentsRole", "VoiceBridgeRole"):
        (writes,) = [s for s in _statements(role) if s["Sid"] == "WriteTables"]
        written = {r["Fn::Sub"].split("${TablePrefix}")[1].split("/")[0] for r in writes["Resource"]}
        assert written == set(RUNTIME_WRITES)
        actions = {a for s in _statements(role) for a in s["Action"]}
        assert not actions & {"s3:PutObject", "bedrock:CreateKnowledgeBase", "iam:PassRole"} - (
            {"s3:PutObject"} if role == "VoiceBridgeRole" else set()
        )


def test_roles_trust_only_their_service_in_this_account() -> None:
    services = {
        "McpServerRole": "bedrock-agentcore.amazonaws.com",
        "CreatorRole": "bedrock-agentcore.amazonaws.com",
        "AgentsRole": "bedrock-agentcore.amazonaws.com",
        "VoiceBridgeRole": "ecs-tasks.amazonaws.com",
        "KnowledgeBaseRole": "bedrock.amazonaws.com",
    }
    for role, resource in _resources("AWS::IAM::Role").items():
        (trust,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": services[role]}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_inbound_auth_is_cognito_unless_an_issuer_is_given_and_ses_needs_a_sender() -> None:
    template = build_template()
    for name in ("UserPool", "UserPoolDomain", "ServiceClient", "AdminClient"):
        assert template["Resources"][name]["Condition"] == "CreateUserPool"
    assert template["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "OidcDiscoveryUrl"}, ""]}
    assert template["Resources"]["SenderIdentity"]["Condition"] == "HasSender"
    service = template["Resources"]["ServiceClient"]["Properties"]
    assert service["AllowedOAuthFlows"] == ["client_credentials"] and service["GenerateSecret"] is True


@pytest.mark.aws
def test_moto_validates_the_template(moto: MotoServer) -> None:
    """moto's ValidateTemplate parses the body and its intrinsic functions (a light check beside cfn-lint)."""
    out = moto.client("cloudformation").validate_template(TemplateBody=render())
    assert out["Description"] == build_template()["Description"]
    with pytest.raises(moto.client("cloudformation").exceptions.ClientError):
        moto.client("cloudformation").validate_template(TemplateBody=render()[:-10])


def test_the_secrets_key_is_retained_rotated_and_only_runtimes_use_it_with_oratios_context() -> None:
    template = build_template()
    key = template["Resources"]["SecretsKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert template["Outputs"]["SecretsKeyArn"] == {"Value": {"Fn::GetAtt": ["SecretsKey", "Arn"]}}

    expected = {
        "McpServerRole": ["kms:GenerateDataKey", "kms:Decrypt"],
        "CreatorRole": ["kms:Decrypt"],
        "AgentsRole": ["kms:Decrypt"],
        "VoiceBridgeRole": ["kms:Decrypt"],
    }
    for role, actions in expected.items():
        [grant] = [s for s in _statements(role) if s["Sid"] == "Secrets"]
        assert grant["Action"] == actions, role
        assert grant["Resource"] == [{"Fn::GetAtt": ["SecretsKey", "Arn"]}], role
        keys = grant["Condition"]["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]
        assert keys == ["oratio:tenant", "oratio:secret"], role
    assert not [s for s in _statements("KnowledgeBaseRole") if any(a.startswith("kms:") for a in s["Action"])]
