"""`oratio deploy aws --dashboard-url`: the Cognito pool gets a dashboard client (code flow, the dashboard's
callback), and the dashboard's sign-in settings come out of the stack's outputs, valid for `oratio.config`."""

from __future__ import annotations

import pytest

from deploy.errors import DeployError
from deploy.plan import Observed, dashboard_environment
from deploy.target import Target
from deploy.template import build_template
from oratio.config import load_settings

ISSUER = "https://issuer.example/.well-known/openid-configuration"
COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/openid-configuration"
DASHBOARD = "https://oratio.acme.example"


def test_the_pool_gets_a_public_code_flow_client_for_the_dashboard_s_callback() -> None:
    template = build_template()
    client = template["Resources"]["DashboardClient"]
    assert client["Condition"] == "CreateDashboardClient"
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"] and props["GenerateSecret"] is False
    assert props["AllowedOAuthScopes"] == ["openid", "email"]
    assert props["CallbackURLs"] == [{"Fn::Sub": "${DashboardUrl}/api/v1/auth/oidc/callback"}]
    condition = template["Conditions"]["CreateDashboardClient"]["Fn::And"]
    assert {"Condition": "CreateUserPool"} in condition  # not with your own issuer
    assert template["Outputs"]["DashboardClientId"] == {
        "Condition": "CreateDashboardClient",
        "Value": {"Ref": "DashboardClient"},
    }
    assert Target(region="eu-west-1", dashboard_url=DASHBOARD).parameters()["DashboardUrl"] == DASHBOARD


def test_the_dashboard_settings_come_from_the_stack_and_load() -> None:
    cognito = Target(region="eu-west-1", dashboard_url=DASHBOARD)
    observed = Observed(account="1", outputs={"DiscoveryUrl": COGNITO, "DashboardClientId": "dash123"})
    env = dashboard_environment(cognito, observed)
    assert env == {
        "ORATIO_PUBLIC_URL": DASHBOARD,
        "ORATIO_OIDC_DISCOVERY_URL": COGNITO,
        "ORATIO_OIDC_CLIENT_ID": "dash123",
        "ORATIO_OIDC_NAME": "Cognito",
        "ORATIO_SIGNIN_PASSWORDS": "false",
    }
    settings = load_settings(env)
    assert settings.oidc_client_id == "dash123" and settings.signin_passwords is False
    assert dashboard_environment(Target(region="eu-west-1"), observed) == {}

    own = Target(
        region="eu-west-1",
        oidc_discovery_url=ISSUER,
        oidc_clients="svc",
        dashboard_url=DASHBOARD,
        oidc_dashboard_client="okta-dash",
    )
    env = dashboard_environment(own, Observed(account="1", outputs={"DiscoveryUrl": ISSUER}))
    assert env["ORATIO_OIDC_CLIENT_ID"] == "okta-dash" and env["ORATIO_OIDC_DISCOVERY_URL"] == ISSUER


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"dashboard_url": "http://oratio.acme.example"}, "--dashboard-url must be the https URL"),
        ({"dashboard_url": f"{DASHBOARD}/"}, "without a trailing"),
        ({"oidc_dashboard_client": "x"}, "needs --oidc-discovery-url and --dashboard-url"),
        (
            {"oidc_discovery_url": ISSUER, "oidc_clients": "svc", "dashboard_url": DASHBOARD},
            "needs --oidc-dashboard-client",
        ),
    ],
)
def test_bad_dashboard_options_are_one_clear_error(changes: dict[str, str], says: str) -> None:
    with pytest.raises(DeployError, match=says):
        Target(region="eu-west-1", **changes)  # type: ignore[arg-type]
