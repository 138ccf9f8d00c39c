"""The client-credentials flow logs in at the org's My Domain, never at a login server."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.config.helpers import CONFIGS, load, write

ORG = """\
variables:
  login: {default: "https://login.salesforce.com"}
orgs:
  prod:
    instance_url: https://acme.my.salesforce.com
    login_url: LOGIN
    auth:
      flow: FLOW
      client_id: 3MVG9-key
      client_secret: ${env.SF_CLIENT_SECRET}
"""
FIX = ("the client_credentials flow needs the org's My Domain as token host, not {url}: use "
       "https://<MyDomain>.my.salesforce.com (or <MyDomain>--<sandbox>.sandbox.my."
       "salesforce.com), as in Setup > My Domain")


def validate(root: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["-c", str(root), "validate"])
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize("url", [
    "https://login.salesforce.com", "https://TEST.Salesforce.com/", "https://test.salesforce.com",
])
def test_validate_refuses_a_login_server_as_token_host(tmp_path: Path, url: str) -> None:
    write(tmp_path, {"orgs.yaml": ORG.replace("LOGIN", url).replace("FLOW",
                                                                     "client_credentials")})
    assert validate(tmp_path) == (1, [
        f"{tmp_path}/orgs.yaml:6:16: orgs.prod.login_url: " + FIX.format(url=url)])


def test_the_url_may_come_from_a_variable(tmp_path: Path) -> None:
    write(tmp_path, {"orgs.yaml": ORG.replace("LOGIN", "${var.login}").replace(
        "FLOW", "client_credentials")})
    assert validate(tmp_path) == (1, [
        f"{tmp_path}/orgs.yaml:6:16: orgs.prod.login_url: "
        + FIX.format(url="https://login.salesforce.com")])


def test_without_login_url_the_instance_url_is_the_token_host(tmp_path: Path) -> None:
    text = ORG.replace("    login_url: LOGIN\n", "").replace("FLOW", "client_credentials")
    write(tmp_path, {"orgs.yaml": text})
    assert validate(tmp_path)[0] == 0
    org = load(tmp_path, environ={"SF_CLIENT_SECRET": "s"}).org("prod")
    assert org.login_url == "https://acme.my.salesforce.com"
    write(tmp_path, {"orgs.yaml": text.replace("acme.my.salesforce.com",
                                               "login.salesforce.com")})
    assert validate(tmp_path) == (1, [
        f"{tmp_path}/orgs.yaml:5:19: orgs.prod.instance_url: "
        + FIX.format(url="https://login.salesforce.com")])


def test_other_flows_may_use_the_login_server(tmp_path: Path) -> None:
    text = ORG.replace("LOGIN", "https://login.salesforce.com").replace("FLOW", "password")
    write(tmp_path, {"orgs.yaml": text.replace(
        "      client_secret: ${env.SF_CLIENT_SECRET}\n",
        "      client_secret: ${env.SF_CLIENT_SECRET}\n      username: u@acme.com\n"
        "      password: ${env.SF_PASSWORD}\n")})
    assert validate(tmp_path)[0] == 0
    org = load(tmp_path, environ={"SF_CLIENT_SECRET": "s", "SF_PASSWORD": "p"}).org("prod")
    assert org.login_url == "https://login.salesforce.com"


def test_the_example_production_org_gets_its_token_from_its_my_domain() -> None:
    config = load(CONFIGS / "multi-env", var_files=[CONFIGS / "multi-env/env/prod.yaml"],
                  environ={"SF_PROD_CLIENT_ID": "id", "SF_PROD_CLIENT_SECRET": "s"})
    assert config.org("prod").login_url == "https://acme.my.salesforce.com"
