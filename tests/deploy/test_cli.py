"""`oratio deploy aws`: one-line errors with status 2, and a plan/apply against moto_server."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from deploy.target import Target
from oratio_app.cli import main
from tests.aws import REGION, MotoServer

_stacks = itertools.count()
ISSUER = "https://issuer.example/.well-known/openid-configuration"


def _no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_region_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_aws(monkeypatch, tmp_path)
    assert main(["deploy", "aws", "--plan"]) == 2
    err = capsys.readouterr().err
    assert err == "oratio: no AWS region: pass --region or set AWS_REGION\n"


def test_no_credentials_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_aws(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    assert main(["deploy", "aws", "--plan", "--region", REGION]) == 2
    assert capsys.readouterr().err.startswith("oratio: no AWS credentials: set AWS_PROFILE")


def test_a_bad_stack_name_is_refused_before_any_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "aws", "--plan", "--region", REGION, "--stack", "Bad_Name"]) == 2
    assert "stack name 'Bad_Name' must be" in capsys.readouterr().err


def _moto_env(monkeypatch: pytest.MonkeyPatch, moto: MotoServer) -> None:
    monkeypatch.setenv("ORATIO_AWS_ENDPOINT_URL", moto.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.mark.aws
def test_a_missing_code_bucket_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, moto: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _moto_env(monkeypatch, moto)
    stack = f"cli{next(_stacks)}"
    args = ["deploy", "aws", "--apply", "--no-dependencies", "--stack", stack, "--code-bucket", "no-such-bucket-here"]
    args += ["--oidc-discovery-url", ISSUER, "--oidc-clients", "svc", "--table-prefix", f"{stack}_"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bucket no-such-bucket-here does not exist" in err


@pytest.mark.aws
def test_plan_then_apply_print_actions_and_endpoints(
    monkeypatch: pytest.MonkeyPatch, moto: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _moto_env(monkeypatch, moto)
    stack = f"cli{next(_stacks)}"
    common = [
        "--stack",
        stack,
        "--table-prefix",
        f"{stack}_",
        "--oidc-discovery-url",
        ISSUER,
        "--oidc-clients",
        "svc",
        "--no-dependencies",
    ]
    assert main(["deploy", "aws", "--plan", *common]) == 0
    planned = capsys.readouterr().out
    assert f"plan for stack {stack} in {REGION} (account 123456789012):" in planned
    assert f"+ create    runtime  {stack}_mcp_server" in planned
    assert main(["deploy", "aws", "--apply", *common]) == 0
    applied = capsys.readouterr().out
    assert "endpoints:" in applied
    assert f"{stack}_agents" in applied and "/invocations?qualifier=DEFAULT" in applied
    secret = moto.client("secretsmanager").get_secret_value(SecretId=f"{stack}/jwt")["SecretString"]
    assert secret not in planned + applied


def test_the_model_goes_through_the_region_s_inference_profile() -> None:
    assert Target(region="eu-west-1").model == "bedrock:eu.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert Target(region="us-east-1").model.startswith("bedrock:us.")
    assert Target(region="ap-southeast-2").model.startswith("bedrock:apac.")
    assert Target(region="sa-east-1").model.startswith("bedrock:global.")
    assert Target(region="eu-west-1", model_profile="").model == "bedrock:anthropic.claude-haiku-4-5-20251001-v1:0"
