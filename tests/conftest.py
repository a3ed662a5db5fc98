"""Shared test fixtures: recognisable fake credentials and an isolated UPTAKE_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analyser.config import Settings, load_settings

# Recognisable fake secrets: tests assert they never reach output, logs, errors or fixtures.
FAKE_TWITTER_TOKEN = "AAAAFAKEbearerTOKENdoNotLeak0000000000001"
FAKE_YOUTUBE_KEY = "AIzaFAKEkeyDoNotLeak00000000000000000002"
FAKE_FACEBOOK_TOKEN = "EAAFAKEaccessTokenDoNotLeak000000000003"
FAKE_SECRETS = (FAKE_TWITTER_TOKEN, FAKE_YOUTUBE_KEY, FAKE_FACEBOOK_TOKEN)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's .env or real credentials, or writes outside tmp_path."""
    for var in list(__import__("os").environ):
        if var.startswith("UPTAKE_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UPTAKE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def settings() -> Settings:
    """Settings with fake credentials on all platforms."""
    return load_settings(
        twitter_bearer_token=FAKE_TWITTER_TOKEN,
        youtube_api_key=FAKE_YOUTUBE_KEY,
        facebook_access_token=FAKE_FACEBOOK_TOKEN,
    )
