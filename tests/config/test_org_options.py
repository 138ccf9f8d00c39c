"""Options of `orgs.<name>`: the embedded org's seed, SOAP login."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.helpers import load, problems, write


def test_seed_is_resolved_beside_the_file(tmp_path: Path) -> None:
    write(tmp_path, {"orgs.yaml": "orgs:\n  local:\n    emulator: true\n"
                                  "    seed: seeds/org.yaml\n"})
    config = load(tmp_path)
    assert config.org("local").seed == tmp_path / "seeds" / "org.yaml"


def test_seed_needs_the_emulator(tmp_path: Path) -> None:
    write(tmp_path, {"orgs.yaml": (
        "orgs:\n  prod:\n    instance_url: https://acme.my.salesforce.com\n"
        "    seed: seed.yaml\n    auth:\n      flow: access_token\n"
        "      access_token: ${env.TOKEN}\n")})
    assert problems(tmp_path) == [
        f"{tmp_path / 'orgs.yaml'}:4:5: orgs.prod: \"seed\" needs emulator: true "
        "(it describes a new local org)"]


def test_soap_login_needs_no_connected_app_in_validation_and_schema(tmp_path: Path) -> None:
    import jsonschema

    from reconciler.config import config_json_schema

    soap = ("orgs:\n  prod:\n    instance_url: https://acme.my.salesforce.com\n"
            "    auth:\n      flow: password\n      soap_login: true\n"
            "      username: ${env.SF_USER}\n      password: ${env.SF_PASSWORD}\n")
    write(tmp_path, {"orgs.yaml": soap})
    config = load(tmp_path, environ={"SF_USER": "u@acme.com", "SF_PASSWORD": "p"})
    auth = config.org("prod").auth
    assert auth is not None and auth.soap_login and auth.client_id is None
    document = {"orgs": {"prod": {"instance_url": "https://acme.my.salesforce.com", "auth": {
        "flow": "password", "soap_login": True, "username": "${env.SF_USER}",
        "password": "${env.SF_PASSWORD}"}}}}
    jsonschema.validate(document, config_json_schema())
    del document["orgs"]["prod"]["auth"]["soap_login"]
    with pytest.raises(jsonschema.ValidationError, match="client_id"):
        jsonschema.validate(document, config_json_schema())
