"""The runtime that wires connectors to the analysis: seams, statuses, dates, record then replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyser.config import MAX_RPS_CEILING, Settings
from analyser.errors import AuthError, FixtureMissingError
from analyser.handles import parse_handle
from analyser.models import AccountStatus, Platform
from analyser.pipeline import Mode, Runtime, analyse_brand_full, dedupe_handles
from connectors.base import RetryPolicy
from connectors.fakeapi import FakeApi, serve
from connectors.replay import Cassette, cassette_path
from tests.analyser.test_cli import AS_OF, _snapshot
from tests.conftest import FAKE_TWITTER_TOKEN


def _fake() -> FakeApi:
    return FakeApi(
        [
            _snapshot(Platform.TWITTER, "brandx", "4242", 30),
            _snapshot(Platform.FACEBOOK, "brandxpage", "5555555", 12),
        ]
    )


def test_simulated_run_reports_found_and_not_found(settings: Settings) -> None:
    runtime = Runtime(settings, mode="simulated", handler=_fake(), as_of=AS_OF)
    handles = [
        parse_handle("twitter", "@brandx"),
        parse_handle("twitter", "https://x.com/BrandX"),  # the same account: fetched once
        parse_handle("twitter", "brandxsummer24"),  # deleted campaign account
        parse_handle("facebook", "brandxpage"),
    ]
    analysis = analyse_brand_full("Brand X", handles, runtime)
    statuses = {(a.platform, a.handle.lower()): a.status for a in analysis.report.platforms}
    assert len(analysis.snapshots) == 3
    assert statuses[(Platform.TWITTER, "brandxsummer24")] is AccountStatus.NOT_FOUND
    assert statuses[(Platform.TWITTER, "brandx")] is AccountStatus.FOUND
    assert analysis.report.coverage.posts_analysed == 42
    assert runtime.spent.requests == analysis.report.coverage.requests


def test_api_failure_becomes_an_account_status_not_a_crash(settings: Settings) -> None:
    broken = _snapshot(Platform.TWITTER, "flaky", "77", 5)
    broken = broken.model_copy(
        update={"account": broken.account.model_copy(update={"status": AccountStatus.ERROR})}
    )
    runtime = Runtime(
        settings, mode="simulated", handler=FakeApi([broken]), policy=RetryPolicy.no_wait(2)
    )
    snap = runtime.fetch(parse_handle("twitter", "flaky"))
    assert snap.account.status is AccountStatus.ERROR
    assert snap.account.status_detail


def test_rejected_credentials_stop_the_run(settings: Settings) -> None:
    from connectors.replay import HttpResponse

    def reject(_request: object) -> HttpResponse:
        return HttpResponse.json(
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
        )

    runtime = Runtime(settings, mode="simulated", handler=reject)
    with pytest.raises(AuthError) as info:
        runtime.fetch(parse_handle("twitter", "brandx"))
    assert FAKE_TWITTER_TOKEN not in str(info.value)


def test_record_then_replay_offline_on_the_recording_date(
    settings: Settings, tmp_path: Path
) -> None:
    fixtures = tmp_path / "fixtures"
    with serve(_fake()) as base_url:
        live = settings.model_copy(
            update={"twitter_base_url": base_url, "facebook_base_url": base_url,
                    "fixtures_dir": fixtures}
        )  # fmt: skip
        recorder = Runtime(live, mode="record", max_posts=50)
        recorded = recorder.fetch(parse_handle("twitter", "brandx"))
    path = cassette_path(fixtures, "twitter", "brandx")
    assert path.exists()
    assert FAKE_TWITTER_TOKEN not in path.read_text(encoding="utf-8")

    # Offline: no network, no credentials, and the analysis date is the recording date.
    stamp = datetime(2026, 10, 30, 12, tzinfo=UTC)
    cassette = Cassette.load(path)
    cassette.recorded_at = stamp
    cassette.save()
    offline = Settings(fixtures_dir=fixtures)
    runtime = Runtime(offline, mode="offline", max_posts=50)
    analysis = analyse_brand_full("Brand X", [parse_handle("twitter", "brandx")], runtime)
    assert analysis.snapshots[0].posts == recorded.posts
    assert analysis.report.as_of == stamp

    with pytest.raises(FixtureMissingError):
        runtime.fetch(parse_handle("twitter", "neverrecorded"))


def test_as_of_overrides_the_recording_date(settings: Settings) -> None:
    when = AS_OF + timedelta(days=400)
    runtime = Runtime(settings, mode="simulated", handler=_fake(), as_of=when)
    report = analyse_brand_full("Brand X", [parse_handle("twitter", "brandx")], runtime).report
    assert report.as_of == when


def test_dedupe_keeps_the_first_spelling() -> None:
    handles = dedupe_handles(
        [parse_handle("twitter", "BrandX"), parse_handle("twitter", "@brandx")]
    )
    assert [h.value for h in handles] == ["BrandX"]


def test_units_spent_before_a_failure_still_count(settings: Settings) -> None:
    from connectors.fakeapi.youtube import Fake

    channel = _snapshot(Platform.YOUTUBE, "brandxtv", "UCabcdefghijklmnopqrstuv", 120)
    runtime = Runtime(
        settings.model_copy(update={"youtube_comment_sample": 0}),
        mode="simulated",
        handler=Fake([channel], daily_quota=3),  # the channel lookup and two pages, then spent
        policy=RetryPolicy.no_wait(2),
    )
    snap = runtime.fetch(parse_handle("youtube", "@brandxtv"))
    assert snap.account.status is AccountStatus.ERROR
    assert "quota" in (snap.account.status_detail or "")
    assert snap.quota_units >= 3
    assert runtime.spent.quota_units == snap.quota_units
    # The run stops spending on YouTube: the next channel costs nothing.
    again = runtime.fetch(parse_handle("youtube", "@othertv"))
    assert again.account.status is AccountStatus.ERROR
    assert again.quota_units == 0


@pytest.mark.parametrize("mode", ["live", "record"])
def test_each_platform_gate_takes_its_request_rate(settings: Settings, mode: Mode) -> None:
    rated = settings.model_copy(update={"twitter_max_rps": 0.3, "facebook_max_rps": 20.0})
    gates = Runtime(rated, mode=mode).gates
    assert {p: g.max_rps for p, g in gates.items()} == {
        Platform.TWITTER: 0.3,
        Platform.YOUTUBE: None,
        Platform.FACEBOOK: 20.0,
    }


@pytest.mark.parametrize("mode", ["offline", "simulated"])
def test_replays_and_in_process_handlers_are_not_paced(settings: Settings, mode: Mode) -> None:
    rated = settings.model_copy(update={"twitter_max_rps": 0.3})
    runtime = Runtime(rated, mode=mode, handler=_fake())
    assert all(gate.max_rps is None for gate in runtime.gates.values())


def test_every_live_request_goes_through_the_platform_gate(settings: Settings) -> None:
    with serve(_fake()) as base_url:
        live = settings.model_copy(
            update={"twitter_base_url": base_url, "twitter_max_rps": MAX_RPS_CEILING}
        )
        runtime = Runtime(live, mode="live", max_posts=50, policy=RetryPolicy.no_wait())
        gate = runtime.gates[Platform.TWITTER]
        turns = 0
        acquire = gate.acquire

        def counted() -> None:
            nonlocal turns
            turns += 1
            acquire()

        gate.acquire = counted  # type: ignore[method-assign]
        runtime.fetch(parse_handle("twitter", "brandx"))
        runtime.fetch(parse_handle("twitter", "brandxsummer24"))  # a second account, same gate
    assert runtime.spent.requests >= 3
    assert turns == runtime.spent.requests
