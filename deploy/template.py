"""The CloudFormation template for Oratio's AWS resources, generated from the code that uses them.

Why it is generated rather than hand-written:

- The DynamoDB tables come from `oratio.store.dynamodb.table_definitions`, the same definitions
  `create_dynamodb_tables` uses for development and tests, so the deployed keys and indexes cannot
  drift from what the adapter queries. `python -m deploy.template` rewrites `deploy/oratio.template.json`;
  a test fails when the committed file is stale.
- IAM is built per runtime from a few grant helpers (`deploy.iam`), so least privilege is one readable
  table of "who reads/writes what" instead of four hand-kept policy documents.

What it makes: the tables (PITR, SSE, streams as the code says), three buckets (blobs: documents and
generated agent code plus deployment packages, versioned; knowledge: Bedrock KB sources; recordings),
the KMS key that wraps tenant secrets (retained, rotated),
all with SSE, public access blocked and a TLS-only policy; one role per runtime; a Cognito user pool
for AgentCore's inbound JWT auth unless an existing OIDC issuer is given; and the SES sender identity.
The keys the runtimes share (admin tokens, webhook signing) are Secrets Manager secrets that
`oratio deploy aws --apply` creates once, outside the stack (see `deploy.apply`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploy.iam import runtime_roles
from oratio.store.dynamodb import TTL_ATTRIBUTE, expiring_tables, table_definitions

TEMPLATE_PATH = Path(__file__).with_name("oratio.template.json")
DESCRIPTION = "Oratio: DynamoDB tables, S3 buckets, runtime roles, Cognito inbound auth, SES identity"

Json = dict[str, Any]

# Logical id of each table, by its unprefixed name (CloudFormation ids are alphanumeric).
_BUCKETS = {"BlobBucket": "blobs", "KnowledgeBucket": "knowledge", "RecordingsBucket": "recordings"}


def table_logical_id(name: str) -> str:
    return "Table" + "".join(part.capitalize() for part in name.split("_"))


def bucket_name(kind: str) -> Json:
    """Deterministic names, so `--plan` can name buckets before the stack exists."""
    return {"Fn::Sub": f"${{AWS::StackName}}-{kind}-${{AWS::AccountId}}-${{AWS::Region}}"}


def _tables() -> Json:
    resources: Json = {}
    expiring = set(expiring_tables(""))
    for definition in table_definitions(""):
        name = definition["TableName"]
        properties: Json = {
            "TableName": {"Fn::Sub": f"${{TablePrefix}}{name}"},
            "AttributeDefinitions": [dict(a) for a in definition["AttributeDefinitions"]],
            "KeySchema": [dict(k) for k in definition["KeySchema"]],
            "BillingMode": definition["BillingMode"],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        if "GlobalSecondaryIndexes" in definition:
            properties["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index["IndexName"],
                    "KeySchema": [dict(k) for k in index["KeySchema"]],
                    "Projection": dict(index["Projection"]),
                }
                for index in definition["GlobalSecondaryIndexes"]
            ]
        if "StreamSpecification" in definition:  # CloudFormation has no StreamEnabled key
            properties["StreamSpecification"] = {"StreamViewType": definition["StreamSpecification"]["StreamViewType"]}
        if name in expiring:  # rows that stop mattering (rate buckets): AWS deletes them after expiry
            properties["TimeToLiveSpecification"] = {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
        resources[table_logical_id(name)] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
    return resources


def _buckets() -> Json:
    resources: Json = {}
    for logical_id, kind in _BUCKETS.items():
        properties: Json = {
            "BucketName": bucket_name(kind),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        }
        if kind == "blobs":  # generated agent code and deployment packages: keep every version
            properties["VersioningConfiguration"] = {"Status": "Enabled"}
        if kind == "recordings":
            properties["LifecycleConfiguration"] = {
                "Rules": [
                    {"Id": "expire-recordings", "Status": "Enabled", "ExpirationInDays": {"Ref": "RecordingDays"}}
                ]
            }
        resources[logical_id] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
        resources[f"{logical_id}Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": logical_id},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": [logical_id, "Arn"]},
                                {"Fn::Sub": f"${{{logical_id}.Arn}}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        }
    return resources


def _identity() -> Json:
    """Cognito for AgentCore's customJWTAuthorizer, created only when no OIDC issuer is given."""
    cognito = {"Condition": "CreateUserPool"}
    return {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            **cognito,
            "Properties": {
                "UserPoolName": {"Fn::Sub": "${AWS::StackName}-callers"},
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "Policies": {"PasswordPolicy": {"MinimumLength": 14}},
            },
        },
        "UserPoolDomain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            **cognito,
            "Properties": {
                "Domain": {"Fn::Sub": "${AWS::StackName}-${AWS::AccountId}"},
                "UserPoolId": {"Ref": "UserPool"},
            },
        },
        "UserPoolResourceServer": {
            "Type": "AWS::Cognito::UserPoolResourceServer",
            **cognito,
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "Identifier": "oratio",
                "Name": "Oratio runtimes",
                "Scopes": [{"ScopeName": "invoke", "ScopeDescription": "Call Oratio's AgentCore runtimes"}],
            },
        },
        # Backends (customer apps, other agents): OAuth client credentials.
        "ServiceClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            **cognito,
            "DependsOn": "UserPoolResourceServer",
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ClientName": "oratio-service",
                "GenerateSecret": True,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["client_credentials"],
                "AllowedOAuthScopes": ["oratio/invoke"],
                "AccessTokenValidity": 60,
                "TokenValidityUnits": {"AccessToken": "minutes"},
            },
        },
        # People (admins in Claude / an IDE): a public client, SRP sign-in, no secret to leak.
        "AdminClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            **cognito,
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ClientName": "oratio-admin",
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
            },
        },
        # People opening the dashboard (`oratio serve` at --dashboard-url): the authorization-code flow with PKCE
        # through the hosted UI (dashboard.oidc). A public client: PKCE binds the code to the browser's sign-in and
        # the dashboard holds no Cognito secret.
        "DashboardClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Condition": "CreateDashboardClient",
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ClientName": "oratio-dashboard",
                "GenerateSecret": False,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["code"],
                "AllowedOAuthScopes": ["openid", "email"],
                "SupportedIdentityProviders": ["COGNITO"],
                "CallbackURLs": [{"Fn::Sub": "${DashboardUrl}/api/v1/auth/oidc/callback"}],
                "LogoutURLs": [{"Fn::Sub": "${DashboardUrl}/dashboard"}],
                "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "IdTokenValidity": 60,
                "TokenValidityUnits": {"IdToken": "minutes"},
            },
        },
        "SenderIdentity": {
            "Type": "AWS::SES::EmailIdentity",
            "Condition": "HasSender",
            "Properties": {"EmailIdentity": {"Ref": "SenderEmail"}},
        },
    }


def _secrets_key() -> Json:
    """The KMS key that wraps tenant secrets' data keys (`oratio.secrets.kms`, ORATIO_KMS_KEY_ID).

    Retained with the tables: deleting it would make every stored secret unreadable. The key policy
    delegates to IAM (the account root), so the runtime roles' own grants (`deploy.iam`) decide who
    may wrap and unwrap; rotation is on (KMS keeps old key material to decrypt what it sealed)."""
    return {
        "SecretsKey": {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": "Oratio: wraps the data keys of tenant secrets (envelope encryption)",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersThroughIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        }
    }


def _parameters() -> Json:
    return {
        "TablePrefix": {
            "Type": "String",
            "Default": "oratio_",
            "AllowedPattern": "^[A-Za-z0-9_.-]{0,64}$",
            "Description": "ORATIO_DYNAMODB_TABLE_PREFIX",
        },
        "BlobPrefix": {
            "Type": "String",
            "Default": "data/",
            "AllowedPattern": "^([a-z0-9_-]+/)?$",
            "Description": "ORATIO_S3_PREFIX inside the blob bucket (deployment packages live under deploy/)",
        },
        "ModelId": {
            "Type": "String",
            "Default": "anthropic.claude-haiku-4-5-20251001-v1:0",
            "Description": "Bedrock model the agents and the AgentCreator call (also reached via inference profiles)",
        },
        "VoiceModelId": {
            "Type": "String",
            "Default": "amazon.nova-2-sonic-v1:0",
            "Description": "Bedrock speech-to-speech model of the voice bridge",
        },
        "EmbeddingModelId": {
            "Type": "String",
            "Default": "amazon.titan-embed-text-v2:0",
            "Description": "Embedding model of the Bedrock knowledge bases",
        },
        "VectorBucketName": {
            "Type": "String",
            "Default": "oratio-vectors",
            "Description": "S3 Vectors bucket holding the knowledge bases' indexes (created by the operator)",
        },
        "SenderEmail": {
            "Type": "String",
            "Default": "",
            "Description": "ORATIO_EMAIL_FROM: SES identity for handoff emails (empty: no email)",
        },
        "OidcDiscoveryUrl": {
            "Type": "String",
            "Default": "",
            "Description": "Existing OIDC issuer for AgentCore inbound auth (empty: create a Cognito user pool)",
        },
        "OidcAllowedClients": {
            "Type": "String",
            "Default": "",
            "Description": "Comma-separated client ids AgentCore accepts from that issuer (its tokens' client_id)",
        },
        "DashboardUrl": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*)?$",
            "Description": "Where people open the dashboard (ORATIO_PUBLIC_URL); with the Cognito pool, its "
            "dashboard client's callback (empty: no dashboard client)",
        },
        "RecordingDays": {"Type": "Number", "Default": 30, "MinValue": 1, "Description": "Days recordings are kept"},
    }


def _outputs() -> Json:
    cognito_url = {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}/.well-known/openid-configuration"
    }
    outputs: Json = {
        "TablePrefix": {"Value": {"Ref": "TablePrefix"}},
        "BlobBucket": {"Value": {"Ref": "BlobBucket"}},
        "BlobPrefix": {"Value": {"Ref": "BlobPrefix"}},
        "KnowledgeBucket": {"Value": {"Ref": "KnowledgeBucket"}},
        "RecordingsBucket": {"Value": {"Ref": "RecordingsBucket"}},
        "SecretsKeyArn": {"Value": {"Fn::GetAtt": ["SecretsKey", "Arn"]}},
        "DiscoveryUrl": {"Value": {"Fn::If": ["CreateUserPool", cognito_url, {"Ref": "OidcDiscoveryUrl"}]}},
        "AllowedClients": {
            "Value": {
                "Fn::If": [
                    "CreateUserPool",
                    {"Fn::Join": [",", [{"Ref": "ServiceClient"}, {"Ref": "AdminClient"}]]},
                    {"Ref": "OidcAllowedClients"},
                ]
            }
        },
        "DashboardClientId": {"Condition": "CreateDashboardClient", "Value": {"Ref": "DashboardClient"}},
        "TokenUrl": {
            "Condition": "CreateUserPool",
            "Value": {"Fn::Sub": "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com/oauth2/token"},
        },
    }
    for role in runtime_roles():
        outputs[f"{role.logical_id}Arn"] = {"Value": {"Fn::GetAtt": [role.logical_id, "Arn"]}}
    return outputs


def build_template() -> Json:
    resources: Json = {**_tables(), **_buckets(), **_identity(), **_secrets_key()}
    for role in runtime_roles():
        resources[role.logical_id] = role.resource()
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": DESCRIPTION,
        "Parameters": _parameters(),
        "Conditions": {
            "CreateUserPool": {"Fn::Equals": [{"Ref": "OidcDiscoveryUrl"}, ""]},
            "HasSender": {"Fn::Not": [{"Fn::Equals": [{"Ref": "SenderEmail"}, ""]}]},
            "CreateDashboardClient": {
                "Fn::And": [
                    {"Condition": "CreateUserPool"},
                    {"Fn::Not": [{"Fn::Equals": [{"Ref": "DashboardUrl"}, ""]}]},
                ]
            },
        },
        "Resources": resources,
        "Outputs": _outputs(),
    }


def render() -> str:
    """The template as JSON text, stable byte for byte (sorted keys), as committed."""
    return json.dumps(build_template(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    TEMPLATE_PATH.write_text(render())
    print(f"wrote {TEMPLATE_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
