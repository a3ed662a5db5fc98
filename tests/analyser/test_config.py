"""Settings: credentials named in errors, secrets kept out of reprs and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyser.config import Settings, load_settings
from analyser.errors import ConfigError, ExitCode, redact
from tests.conftest import FAKE_TWITTER_TOKEN


def test_missing_credential_names_the_variable() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError) as info:
        settings.credential("youtube")
    assert "UPTAKE_YOUTUBE_API_KEY" in str(info.value)
    assert info.value.exit_code == ExitCode.CONFIG


def test_env_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("UPTAKE_FACEBOOK_API_VERSION=v25.0\n", encoding="utf-8")
    monkeypatch.setenv("UPTAKE_TWITTER_BASE_URL", "http://127.0.0.1:9/")
    settings = load_settings()
    assert settings.facebook_api_version == "v25.0"
    assert settings.base_url("twitter") == "http://127.0.0.1:9"


def test_bad_base_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPTAKE_YOUTUBE_BASE_URL", "ftp://nowhere")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "\n" not in str(info.value)


def test_secrets_are_hidden_in_repr_and_redacted_everywhere() -> None:
    settings = load_settings(twitter_bearer_token=FAKE_TWITTER_TOKEN)
    assert FAKE_TWITTER_TOKEN not in repr(settings)
    assert FAKE_TWITTER_TOKEN not in redact(f"GET /2/users?x=1 Authorization: {FAKE_TWITTER_TOKEN}")
    assert "abc123" not in redact(
        "https://graph.facebook.com/v26.0/1/posts?access_token=abc123&a=b"
    )
    assert "AIzaSECRET" not in redact("https://youtube.googleapis.com/x?key=AIzaSECRET")


def test_database_defaults_to_sqlite_under_home(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.database.startswith("sqlite:///")
    assert str(settings.home) in settings.database


def test_no_request_rate_by_default() -> None:
    settings = load_settings()
    assert [settings.max_rps(p) for p in ("twitter", "youtube", "facebook")] == [None] * 3


@pytest.mark.parametrize(
    ("raw", "rate"), [("0.3", 0.3), ("20", 20.0), ("1000", 1000.0), ("", None)]
)
def test_request_rate_is_read_per_platform(
    raw: str, rate: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_TWITTER_MAX_RPS", raw)
    settings = load_settings()
    assert settings.max_rps("twitter") == rate
    assert settings.max_rps("youtube") is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("0", "greater than 0"),
        ("-2", "greater than 0"),
        ("1001", "less than or equal to 1000"),
        ("fast", "a valid number"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("300/15min", "a valid number"),
    ],
)
def test_bad_request_rate_is_one_line_naming_the_variable(
    raw: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_FACEBOOK_MAX_RPS", raw)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    assert f"UPTAKE_FACEBOOK_MAX_RPS={raw!r}" in message
    assert why in message
    assert info.value.exit_code == ExitCode.CONFIG


def test_every_setting_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    example = (root / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        var = f"UPTAKE_{name.upper()}"
        assert f"`{var}`" in readme, f"{var} missing from the README settings table"
        assert var in example, f"{var} missing from .env.example"
