"""``orgs.<name>.seed``: the seed of a new embedded org, only with emulator: true."""

from __future__ import annotations

from pathlib import Path

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
