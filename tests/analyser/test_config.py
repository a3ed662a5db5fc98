"""Settings: credentials named in errors, secrets kept out of reprs and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyser.config import load_settings
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
