"""Least-privilege IAM roles, one per runtime, built from a few grants so the policy reads as a table.

| role | assumed by | tables | blobs (under BlobPrefix) | other |
| --- | --- | --- | --- | --- |
| McpServerRole | AgentCore | read+write all | read+write | knowledge sources, KB mgmt, model, SES, key: wrap+unwrap |
| CreatorRole | AgentCore | read+write all | read+write | knowledge sources, KB mgmt, model, key: unwrap |
| AgentsRole | AgentCore | read all; write `RUNTIME_WRITES` | read `*/agents/*` | KB retrieve, model, SES, key: unwrap |
| VoiceBridgeRole | ECS task | as AgentsRole | as AgentsRole | speech model, recordings (write), key: unwrap |
| KnowledgeBaseRole | Bedrock | - | - | read knowledge sources, embedding model, vector index |

"key" is the secrets KMS key (`SecretsKey`), used only with Oratio's encryption context.

A statement may name `*` as its resource only for actions that AWS does not scope to a resource;
those are listed in `WILDCARD_ACTIONS` with the reason, and a test holds every policy to that list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oratio.store.dynamodb import table_definitions

Json = dict[str, Any]

WILDCARD_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions (AgentCore observability)",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions (AgentCore observability)",
    "cloudwatch:PutMetricData": "no resource-level permissions; limited by the cloudwatch:namespace condition",
    "bedrock:ListKnowledgeBases": "list actions take no resource; Oratio finds an agent's KB by name",
}

READ_TABLE = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"]
WRITE_TABLE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
RUNTIME_WRITES = ("sessions", "turns", "notifications", "events", "event_heads")
"""Tables a conversation writes (the customer-agent runtime and the voice bridge write nothing else)."""

MODEL_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
KB_MANAGE = [
    "bedrock:CreateKnowledgeBase",
    "bedrock:GetKnowledgeBase",
    "bedrock:DeleteKnowledgeBase",
    "bedrock:CreateDataSource",
    "bedrock:GetDataSource",
    "bedrock:ListDataSources",
    "bedrock:StartIngestionJob",
    "bedrock:GetIngestionJob",
    "bedrock:ListIngestionJobs",
    "bedrock:TagResource",
    "bedrock:Retrieve",
]

AGENTCORE = "bedrock-agentcore.amazonaws.com"
ECS_TASKS = "ecs-tasks.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


def _sub(text: str) -> Json | str:
    return {"Fn::Sub": text} if "${" in text else text


def table_names() -> list[str]:
    return [definition["TableName"] for definition in table_definitions("")]


def _tables(names: list[str] | tuple[str, ...]) -> list[Json | str]:
    arns: list[Json | str] = []
    for name in names:
        table = f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{TablePrefix}}{name}"
        arns += [_sub(table), _sub(f"{table}/index/*")]
    return arns


def _statement(sid: str, actions: list[str], resources: list[Json | str] | str, **condition: Json) -> Json:
    statement: Json = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _read_tables() -> Json:
    return _statement("ReadTables", READ_TABLE, _tables(table_names()))


def _write_tables(names: list[str] | tuple[str, ...]) -> Json:
    return _statement("WriteTables", WRITE_TABLE, _tables(names))


def _objects(bucket: str, pattern: str, actions: list[str], sid: str) -> Json:
    return _statement(sid, actions, [_sub(f"${{{bucket}.Arn}}/{pattern}")])


def _listing(bucket: str, prefix: str, sid: str) -> Json:
    return _statement(
        sid, ["s3:ListBucket"], [_sub(f"${{{bucket}.Arn}}")], StringLike={"s3:prefix": [_sub(f"{prefix}*")]}
    )


def _models(model_param: str, actions: list[str], sid: str) -> Json:
    return _statement(
        sid,
        actions,
        [
            _sub(f"arn:${{AWS::Partition}}:bedrock:*::foundation-model/${{{model_param}}}"),
            _sub(f"arn:${{AWS::Partition}}:bedrock:*:${{AWS::AccountId}}:inference-profile/*${{{model_param}}}"),
        ],
    )


def _knowledge_bases(actions: list[str], sid: str) -> Json:
    return _statement(
        sid, actions, [_sub("arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:knowledge-base/*")]
    )


def _email() -> Json:
    """SES send from the configured identity only; nothing when no sender is configured."""
    return {
        "Fn::If": [
            "HasSender",
            _statement(
                "SendEmail",
                ["ses:SendEmail", "ses:SendRawEmail"],
                [_sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmail}")],
            ),
            {"Ref": "AWS::NoValue"},
        ]
    }


SECRET_CONTEXT_KEYS = ["oratio:tenant", "oratio:secret"]
"""The EncryptionContext keys `oratio.secrets.kms` binds every wrapped data key to."""


def _secrets_key_arn() -> Json | str:
    return {"Fn::GetAtt": ["SecretsKey", "Arn"]}


def _secrets(actions: list[str]) -> Json:
    """Use of the secrets key, only with Oratio's encryption context (tenant and secret name)."""
    condition: dict[str, Json] = {
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": SECRET_CONTEXT_KEYS},
        "Null": {"kms:EncryptionContextKeys": "false"},
    }
    return _statement("Secrets", actions, [_secrets_key_arn()], **condition)


def _agentcore_basics() -> list[Json]:
    """What every AgentCore runtime needs: its logs, traces, metrics, and its own code package."""
    logs = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/bedrock-agentcore/runtimes/*"
    return [
        _statement(
            "Logs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [_sub(logs)],
        ),
        _statement("Traces", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        _statement(
            "Metrics",
            ["cloudwatch:PutMetricData"],
            "*",
            StringEquals={"cloudwatch:namespace": "bedrock-agentcore"},
        ),
        _objects("BlobBucket", "deploy/*", ["s3:GetObject"], "ReadCodePackage"),
    ]


def _platform_grants() -> list[Json]:
    """The admin side (MCP server, AgentCreator): every table, every blob, knowledge sources, KB lifecycle."""
    return [
        _read_tables(),
        _write_tables(table_names()),
        _objects("BlobBucket", "${BlobPrefix}*", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Blobs"),
        _listing("BlobBucket", "${BlobPrefix}", "ListBlobs"),
        _objects(
            "KnowledgeBucket", "knowledge/*", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "KnowledgeSources"
        ),
        _listing("KnowledgeBucket", "knowledge/", "ListKnowledgeSources"),
        _knowledge_bases(KB_MANAGE, "KnowledgeBases"),
        _statement("FindKnowledgeBases", ["bedrock:ListKnowledgeBases"], "*"),
        _statement(
            "PassKnowledgeBaseRole",
            ["iam:PassRole"],
            [{"Fn::GetAtt": ["KnowledgeBaseRole", "Arn"]}],
            StringEquals={"iam:PassedToService": BEDROCK},
        ),
        _models("ModelId", MODEL_ACTIONS, "Model"),
    ]


def _conversation_grants() -> list[Json]:
    """The customer side (agents runtime, voice bridge): read config, write conversations."""
    return [
        _read_tables(),
        _write_tables(RUNTIME_WRITES),
        _objects("BlobBucket", "${BlobPrefix}*/agents/*", ["s3:GetObject"], "ReadAgentArtifacts"),
        _knowledge_bases(["bedrock:Retrieve"], "SearchKnowledge"),
        _models("ModelId", MODEL_ACTIONS, "Model"),
        _email(),
    ]


@dataclass(frozen=True)
class RuntimeRole:
    logical_id: str
    service: str
    statements: tuple[Json, ...]
    description: str

    def resource(self) -> Json:
        trust: Json = {"Effect": "Allow", "Principal": {"Service": self.service}, "Action": "sts:AssumeRole"}
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": self.description,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                "Policies": [
                    {
                        "PolicyName": "oratio",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": list(self.statements)},
                    }
                ],
            },
        }


def runtime_roles() -> list[RuntimeRole]:
    kb_storage = "arn:${AWS::Partition}:s3vectors:${AWS::Region}:${AWS::AccountId}:bucket/${VectorBucketName}"
    return [
        RuntimeRole(
            "McpServerRole",
            AGENTCORE,
            (*_agentcore_basics(), *_platform_grants(), _email(), _secrets(["kms:GenerateDataKey", "kms:Decrypt"])),
            "Oratio MCP server (AgentCore Runtime)",
        ),
        RuntimeRole(
            "CreatorRole",
            AGENTCORE,
            (*_agentcore_basics(), *_platform_grants(), _secrets(["kms:Decrypt"])),
            "Oratio AgentCreator (AgentCore Runtime)",
        ),
        RuntimeRole(
            "AgentsRole",
            AGENTCORE,
            (*_agentcore_basics(), *_conversation_grants(), _secrets(["kms:Decrypt"])),
            "Oratio customer agents (AgentCore Runtime)",
        ),
        RuntimeRole(
            "VoiceBridgeRole",
            ECS_TASKS,
            (
                *_conversation_grants(),
                _secrets(["kms:Decrypt"]),
                # InvokeModelWithBidirectionalStream is authorised as bedrock:InvokeModel.
                _models("VoiceModelId", ["bedrock:InvokeModel"], "Speech"),
                _objects("RecordingsBucket", "*", ["s3:PutObject"], "WriteRecordings"),
            ),
            "Oratio voice bridge (ECS task role)",
        ),
        RuntimeRole(
            "KnowledgeBaseRole",
            BEDROCK,
            (
                _objects("KnowledgeBucket", "knowledge/*", ["s3:GetObject"], "ReadSources"),
                _listing("KnowledgeBucket", "knowledge/", "ListSources"),
                _models("EmbeddingModelId", ["bedrock:InvokeModel"], "Embed"),
                _statement(
                    "Vectors",
                    [
                        "s3vectors:GetIndex",
                        "s3vectors:PutVectors",
                        "s3vectors:GetVectors",
                        "s3vectors:DeleteVectors",
                        "s3vectors:QueryVectors",
                    ],
                    [_sub(kb_storage), _sub(f"{kb_storage}/index/*")],
                ),
            ),
            "Bedrock Knowledge Bases: read Oratio's knowledge sources, embed, write vectors",
        ),
    ]


__all__ = ["RUNTIME_WRITES", "WILDCARD_ACTIONS", "RuntimeRole", "runtime_roles", "table_names"]
