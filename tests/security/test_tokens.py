"""Admin tokens: empty means disabled, weak or short ones are refused at start, none is ever echoed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dailyml.settings import Settings
from services.predictor.app import create_app
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database
from tests.support.processes import start_service


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("DAILYML_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_an_empty_token_means_admin_is_disabled(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DAILYML_ADMIN_TOKEN", "")  # an unfilled k8s secrets.env
    assert Settings().admin_token is None
    clean_env.setenv("DAILYML_ADMIN_TOKEN", "   ")
    assert Settings().admin_token is None


def test_admin_calls_with_an_empty_token_say_admin_is_disabled(sqlite_db: Database) -> None:
    settings = Settings(home=sqlite_db.home, database_url=sqlite_db.url, admin_token="")  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            r = client.post("/iris/models/rollback", headers=headers)
            assert r.status_code == 403, r.text
            assert r.json()["error"] == "forbidden"
            assert "disabled" in r.json()["message"] and "DAILYML_ADMIN_TOKEN is not set" in r.json()["message"]


@pytest.mark.parametrize("token", ["short-token", "a" * 23])
def test_short_tokens_are_refused_at_start(clean_env: pytest.MonkeyPatch, token: str) -> None:
    clean_env.setenv("DAILYML_ADMIN_TOKEN", token)
    with pytest.raises(ValidationError) as info:
        Settings()
    message = str(info.value)
    assert "DAILYML_ADMIN_TOKEN" in message and "24" in message
    assert token not in message  # the refused value is not printed either


@pytest.mark.parametrize(
    "token",
    [
        "changeme-changeme-changeme",
        "replace-me-with-a-real-secret",
        "x" * 40,
        "your-admin-token-goes-here",
        "0123456789012345678901234567",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ],
)
def test_known_weak_tokens_are_refused_at_start(clean_env: pytest.MonkeyPatch, token: str) -> None:
    clean_env.setenv("DAILYML_ADMIN_TOKEN", token)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "DAILYML_ADMIN_TOKEN" in str(info.value) and token not in str(info.value)


@pytest.mark.parametrize(
    "token",
    [
        ADMIN_TOKEN,  # the suite's own
        "an-admin-token-for-tests",
        "deploy-test-token-4f9a2c",
        "k8s-test-token-93c1-7e5a0b",
        "an-admin-token-for-the-up-test",
    ],
)
def test_the_tokens_the_suite_uses_are_accepted(clean_env: pytest.MonkeyPatch, token: str) -> None:
    clean_env.setenv("DAILYML_ADMIN_TOKEN", token)
    secret = Settings().admin_token
    assert secret is not None and secret.get_secret_value() == token


def test_generated_tokens_are_long_enough(tmp_path: Path) -> None:
    from dailyml.supervisor import ensure_admin_token

    env: dict[str, str] = {}
    token, created = ensure_admin_token(env, tmp_path)
    assert created and len(token) == 32 and env["DAILYML_ADMIN_TOKEN"] == token
    path = tmp_path / "admin-token"
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Settings(admin_token=token)  # type: ignore[arg-type]  # valid
    # The next `up` reuses it; an explicit token wins.
    again: dict[str, str] = {}
    assert ensure_admin_token(again, tmp_path) == (token, False)
    mine = {"DAILYML_ADMIN_TOKEN": "x-explicit-admin-token-0123456789"}
    assert ensure_admin_token(mine, tmp_path) == ("x-explicit-admin-token-0123456789", False)


def test_up_sh_generates_32_character_tokens() -> None:
    text = (Path(__file__).resolve().parents[2] / "scripts" / "up.sh").read_text()
    # Either it leaves token generation to `dailyml up`, or it generates a 32-character token.
    assert "token_urlsafe(24)" in text or "DAILYML_ADMIN_TOKEN" not in text


@pytest.mark.slow
def test_tokens_never_appear_in_responses_or_the_service_log(sqlite_db: Database, tmp_path: Path) -> None:
    wrong = "wrong-token-that-must-not-leak-7f3a9c"
    service = start_service("predictor", sqlite_db.env(), tmp_path / "logs")
    try:
        answers = [
            httpx.post(f"{service.url}/iris/models/rollback", headers={"Authorization": f"Bearer {wrong}"}),
            httpx.post(f"{service.url}/iris/models/rollback", headers={"Authorization": wrong}),
            httpx.post(
                f"{service.url}/iris/predictions/00000000-0000-0000-0000-000000000000/actual",
                json={"actual": "setosa"},
                headers={"Authorization": f"Bearer {wrong}"},
            ),
        ]
        for r in answers:
            assert r.status_code == 401, r.text
            assert wrong not in r.text and ADMIN_TOKEN not in r.text
            assert wrong not in str(r.headers)
    finally:
        service.stop()
    log = service.log()
    assert "401" in log  # the requests were logged...
    assert wrong not in log and ADMIN_TOKEN not in log  # ...without any token


def test_the_cli_refuses_a_weak_token_with_a_message_not_a_traceback(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dailyml import cli
    from dailyml.settings import get_settings

    clean_env.setenv("DAILYML_HOME", str(tmp_path))
    clean_env.setenv("DAILYML_ADMIN_TOKEN", "too-short-token")
    get_settings.cache_clear()
    try:
        assert cli.main(["models", "list", "iris"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "DAILYML_ADMIN_TOKEN" in err and "24" in err and "too-short-token" not in err


@pytest.mark.slow
def test_dailyml_up_without_a_token_generates_one_and_says_so(tmp_path: Path) -> None:
    from tests.support.processes import dailyml_up

    console = tmp_path / "console.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYML_")}
    env.update({"DAILYML_HOME": str(tmp_path / "home"), "DAILYML_TRAIN_PROFILE": "fast"})
    with dailyml_up(env, console) as predictor:
        token = (tmp_path / "home" / "admin-token").read_text().strip()
        assert len(token) == 32
        # The services were given it: an admin call with it is admitted (409: nothing to roll back to).
        r = httpx.post(f"{predictor}/iris/models/rollback", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code not in (401, 403), r.text
    output = " ".join(console.read_text().split())
    assert "DAILYML_ADMIN_TOKEN is not set: generated one in" in output and "scheduler's jobs need it" in output
    assert token not in console.read_text()
