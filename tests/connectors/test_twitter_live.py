"""X connector over real HTTP on 127.0.0.1: base-URL override, recording, strict offline replay."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyser.config import load_settings
from analyser.errors import ConfigError, FixtureMissingError
from analyser.handles import parse_handle
from analyser.models import AccountStatus, Platform, PostKind
from connectors import make_connector
from connectors.base import RetryPolicy
from connectors.fakeapi import serve
from connectors.replay import Cassette, HttpRequest, HttpResponse, Seam, cassette_path
from connectors.twitter import TwitterConnector, build
from tests.conftest import FAKE_SECRETS, FAKE_TWITTER_TOKEN
from tests.connectors.test_twitter import (
    NOW,
    Recorder,
    assert_round_trip,
    fake_handler,
    snapshot,
    varied_posts,
)

HANDLE = parse_handle("twitter", "https://x.com/HarbourCoffee")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Recorder]]:
    """The simulated X API on 127.0.0.1, named by UPTAKE_TWITTER_BASE_URL, with a fake token.

    It also sets a cookie, as api.x.com does, so the recorder's scrubbing is exercised."""
    inner = fake_handler([snapshot(varied_posts())])

    def with_cookie(request: HttpRequest) -> HttpResponse:
        response = inner(request)
        headers = {**response.headers, "set-cookie": f"guest_id={FAKE_TWITTER_TOKEN}; Path=/"}
        return HttpResponse(response.status, headers, response.body)

    recorder = Recorder(with_cookie)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("UPTAKE_TWITTER_BEARER_TOKEN", FAKE_TWITTER_TOKEN)
    with serve(recorder) as base_url:
        monkeypatch.setenv("UPTAKE_TWITTER_BASE_URL", base_url)
        yield base_url, recorder


def live_connector(seam: Seam) -> TwitterConnector:
    connector = make_connector(
        Platform.TWITTER, load_settings(), seam, policy=RetryPolicy.no_wait()
    )
    assert isinstance(connector, TwitterConnector)
    return connector


def test_base_url_override_reaches_the_local_server(server: tuple[str, Recorder]) -> None:
    base_url, recorder = server
    got = live_connector(Seam.live()).fetch(HANDLE, max_posts=200)
    assert_round_trip(snapshot(varied_posts()), got)
    assert recorder.paths() == [
        "/2/users/by/username/HarbourCoffee",
        "/2/users/1500000000000000001/tweets",
    ]
    assert all(r.url.startswith(base_url) for r in recorder.seen)
    # Over the wire the real token is sent (the server checks it is there) ...
    assert recorder.seen[0].headers["Authorization"] == f"Bearer {FAKE_TWITTER_TOKEN}"
    assert got.requests == 2


def test_live_fetch_logs_no_token(
    server: tuple[str, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tweepy")
    live_connector(Seam.live()).fetch(HANDLE, max_posts=5)
    assert FAKE_TWITTER_TOKEN not in caplog.text
    assert all(FAKE_TWITTER_TOKEN not in r.getMessage() for r in caplog.records)


def test_record_then_replay_offline_gives_the_same_snapshot(
    server: tuple[str, Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cassette_path(tmp_path / "fixtures", "twitter", HANDLE.value)
    cassette = Cassette(path, platform="twitter", recorded_at=NOW)
    recorded = live_connector(Seam.recording(cassette)).fetch(HANDLE, max_posts=200)
    cassette.save()

    text = path.read_text(encoding="utf-8")
    for secret in FAKE_SECRETS:
        assert secret not in text
    for word in ("authorization", "bearer", "cookie", "guest_id"):
        assert word not in text.lower(), word
    assert "x-rate-limit-reset" in text  # what the connector reads is kept

    # Offline: no server, no credentials, the base URL back at its default.
    _, recorder = server
    seen_live = len(recorder.seen)
    for var in ("UPTAKE_TWITTER_BEARER_TOKEN", "UPTAKE_TWITTER_BASE_URL"):
        monkeypatch.delenv(var)
    replay = build(
        load_settings(),
        Seam.replaying(Cassette.load(path)),
        policy=RetryPolicy.no_wait(),
        clock=lambda: NOW,
    )
    replayed = replay.fetch(HANDLE, max_posts=200)
    assert len(recorder.seen) == seen_live
    assert_round_trip(recorded, replayed)
    assert replayed.requests == recorded.requests and replayed.post_reads == recorded.post_reads
    assert {p.kind for p in replayed.posts} == set(PostKind)


def test_strict_replay_names_the_request_it_lacks(
    server: tuple[str, Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.json"
    cassette = Cassette(path, platform="twitter", recorded_at=NOW)
    live_connector(Seam.recording(cassette)).fetch(HANDLE, max_posts=200)
    cassette.save()
    monkeypatch.delenv("UPTAKE_TWITTER_BEARER_TOKEN")
    replay = build(load_settings(), Seam.replaying(Cassette.load(path)), policy=RetryPolicy())
    with pytest.raises(FixtureMissingError) as caught:
        replay.fetch(parse_handle("twitter", "SomeoneElse"), max_posts=200)
    assert "/2/users/by/username/SomeoneElse" in caught.value.message
    assert "uptake record" in caught.value.message
    with pytest.raises(FixtureMissingError, match="max_results=50"):
        replay.fetch(HANDLE, max_posts=50)  # recorded with pages of 100


def test_recording_needs_the_credential(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "x.json", platform="twitter")
    with pytest.raises(ConfigError, match="UPTAKE_TWITTER_BEARER_TOKEN"):
        live_connector(Seam.recording(cassette))


def test_status_accounts_record_and_replay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not-found and protected accounts are recorded like any other and replay to the same
    status."""
    protected = snapshot(status=AccountStatus.PROTECTED)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("UPTAKE_TWITTER_BEARER_TOKEN", FAKE_TWITTER_TOKEN)
    with serve(fake_handler([protected])) as base_url:
        monkeypatch.setenv("UPTAKE_TWITTER_BASE_URL", base_url)
        for name, status in (("HarbourCoffee", AccountStatus.PROTECTED), ("ghost", None)):
            path = tmp_path / f"{name}.json"
            cassette = Cassette(path, platform="twitter", recorded_at=NOW)
            live = live_connector(Seam.recording(cassette)).fetch(
                parse_handle("twitter", name), max_posts=10
            )
            cassette.save()
            replayed = build(
                load_settings(), Seam.replaying(Cassette.load(path)), policy=RetryPolicy()
            ).fetch(parse_handle("twitter", name), max_posts=10)
            assert replayed.account == live.account
            assert live.account.status is (status or AccountStatus.NOT_FOUND)
