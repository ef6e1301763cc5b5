""".env.example documents every variable the code reads, with the value the code uses by default,
and nothing stale; the two secrets are present and empty."""

from __future__ import annotations

import re

from tests.deploy.manifests import DEPLOYMENT_VALUES, REPO, SECRETS, code_variables, env_example, same_as_default

COMPOSE_ONLY = re.compile(
    r"^(POSTGRES_(USER|DB|PASSWORD|IMAGE)|BASE_IMAGE|\w+_HOST_PORT|DAILYML_IMAGE_(PREFIX|TAG)|DAILYML_API_BIND)$"
)


def test_every_variable_the_code_reads_is_in_env_example() -> None:
    documented = env_example()
    missing = sorted(set(code_variables()) - set(documented))
    assert not missing, f"add to .env.example: {missing}"


def test_env_example_has_nothing_stale_and_compose_uses_every_entry() -> None:
    read = set(code_variables())
    compose = (REPO / "docker-compose.yml").read_text()
    for name in env_example():
        assert name in read or COMPOSE_ONLY.match(name), f"{name} is in .env.example but nothing reads it"
        assert re.search(rf"(\$\{{{name}\b|^\s+{name}:)", compose, re.MULTILINE), f"compose never uses {name}"


def test_secrets_are_empty_so_that_nothing_works_by_default() -> None:
    documented = env_example()
    for name in SECRETS:
        assert documented[name] == ("", False), f"{name} must be an uncommented, empty line"


def test_documented_defaults_are_the_code_defaults() -> None:
    documented = env_example()
    wrong = []
    for name, uses in code_variables().items():
        value, commented = documented[name]
        if name in SECRETS or not commented or name == "DAILYML_DATABASE_URL":
            continue
        if name in DEPLOYMENT_VALUES:
            if value != DEPLOYMENT_VALUES[name]:
                wrong.append(f"{name}={value} (deployments use {DEPLOYMENT_VALUES[name]})")
        elif not all(same_as_default(var, value) for var in uses):
            wrong.append(f"{name}={value}")
    assert not wrong, f"not the code's defaults: {wrong}"
