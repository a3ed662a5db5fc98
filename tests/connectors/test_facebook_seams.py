"""The Facebook connector over real loopback HTTP, the recorder and strict offline replay."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analyser.config import load_settings
from analyser.errors import FixtureMissingError
from analyser.handles import parse_handle
from analyser.models import Platform
from connectors import make_connector
from connectors import planned_cost as registry_cost
from connectors.base import RetryPolicy
from connectors.facebook import FacebookConnector
from connectors.fakeapi import FakeApi, serve
from connectors.replay import Cassette, Seam, cassette_path
from tests.conftest import FAKE_FACEBOOK_TOKEN, FAKE_SECRETS
from tests.connectors.test_facebook import make_snapshot

HANDLE = parse_handle("facebook", "https://www.facebook.com/harbourfresh")


def test_registry_builds_the_facebook_connector() -> None:
    settings = load_settings()
    connector = make_connector(Platform.FACEBOOK, settings, Seam.handled_by(FakeApi([])))
    assert isinstance(connector, FacebookConnector)
    assert registry_cost(Platform.FACEBOOK, 250, settings).requests == 4


@pytest.mark.parametrize("max_posts", [60, 230])
def test_base_url_override_reaches_a_local_graph_over_a_live_seam(
    monkeypatch: pytest.MonkeyPatch, max_posts: int
) -> None:
    truth = make_snapshot(230)
    api = FakeApi([truth])
    with serve(api) as base_url:
        monkeypatch.setenv("UPTAKE_FACEBOOK_BASE_URL", base_url)
        monkeypatch.setenv("UPTAKE_FACEBOOK_ACCESS_TOKEN", FAKE_FACEBOOK_TOKEN)
        settings = load_settings()
        assert settings.facebook_base_url == base_url
        connector = make_connector(
            Platform.FACEBOOK, settings, Seam.live(), policy=RetryPolicy.no_wait()
        )
        got = connector.fetch(HANDLE, max_posts=max_posts)
    assert got.account == truth.account
    assert got.posts == truth.posts[:max_posts]
    assert got.requests == api.requests[Platform.FACEBOOK] == 1 + math.ceil(max_posts / 100)
    assert all(FAKE_FACEBOOK_TOKEN not in note for note in got.notes)


def test_a_recording_holds_no_token_and_replays_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    truth = make_snapshot(150)
    path = cassette_path(tmp_path / "fixtures", "facebook", HANDLE.value)
    with serve(FakeApi([truth])) as base_url:
        monkeypatch.setenv("UPTAKE_FACEBOOK_BASE_URL", base_url)
        monkeypatch.setenv("UPTAKE_FACEBOOK_ACCESS_TOKEN", FAKE_FACEBOOK_TOKEN)
        cassette = Cassette(path, platform="facebook")
        recorder = make_connector(
            Platform.FACEBOOK, load_settings(), Seam.recording(cassette), policy=RetryPolicy()
        )
        recorded = recorder.fetch(HANDLE, max_posts=150)
        cassette.save()

    text = path.read_text(encoding="utf-8")
    for secret in FAKE_SECRETS:
        assert secret not in text
    assert "access_token=REDACTED" in text  # the echoed token in paging.next was scrubbed
    assert "authorization" not in text.lower()
    assert '"x-app-usage"' in text  # usage headers are kept for replay

    # Offline: no server, no token, the default host; the cassette answers everything.
    monkeypatch.delenv("UPTAKE_FACEBOOK_BASE_URL")
    monkeypatch.delenv("UPTAKE_FACEBOOK_ACCESS_TOKEN")
    offline = make_connector(
        Platform.FACEBOOK, load_settings(), Seam.replaying(Cassette.load(path))
    )
    replayed = offline.fetch(HANDLE, max_posts=150)
    assert replayed.model_dump(exclude={"fetched_at", "window_end"}) == recorded.model_dump(
        exclude={"fetched_at", "window_end"}
    )
    assert replayed.posts == truth.posts[:150]

    # Strict: asking for more than was recorded fails loudly instead of inventing data.
    stricter = make_connector(
        Platform.FACEBOOK, load_settings(), Seam.replaying(Cassette.load(path))
    )
    with pytest.raises(FixtureMissingError, match="uptake record"):
        stricter.fetch(HANDLE, max_posts=250)
