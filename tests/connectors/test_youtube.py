"""YouTube connector: round trip through the simulated API, exact quota, errors, seams."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analyser.config import Settings, load_settings
from analyser.errors import (
    AuthError,
    ConfigError,
    DataError,
    MalformedBodyError,
    QuotaExceededError,
    RateLimitError,
    TransientError,
)
from analyser.handles import parse_handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    ReplyPolicy,
    ThreadSample,
)
from connectors import make_connector
from connectors import planned_cost as registry_planned_cost
from connectors.base import Gate, Meter, RetryPolicy
from connectors.fakeapi import serve
from connectors.fakeapi.youtube import Fake, error_body
from connectors.replay import Cassette, HttpRequest, HttpResponse, Seam
from connectors.youtube import YouTubeConnector, build, planned_cost
from tests.conftest import FAKE_SECRETS, FAKE_YOUTUBE_KEY

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CHANNEL_ID = "UCharbourHarbourHarbour1"  # UC + 22 characters


def _post(i: int, **overrides: Any) -> Post:
    """A canonical YouTube post: what the connector itself would build from the API answer."""
    values: dict[str, Any] = {
        "id": f"hv{i:09d}",
        "created_at": T0 - timedelta(days=3 * i),
        "title": f"Harbour update {i}",
        "text": f"Episode {i} of our series.",
        "url": f"https://www.youtube.com/watch?v=hv{i:09d}",
        "views": 1000 + 7 * i,
        "likes": 10 + i,
        "replies": 4,
        "reply_policy": ReplyPolicy.OPEN,
    }
    values.update(overrides)
    return Post(**values)


def _account(**overrides: Any) -> Account:
    values: dict[str, Any] = {
        "platform": Platform.YOUTUBE,
        "handle": "harbour",
        "status": AccountStatus.FOUND,
        "id": CHANNEL_ID,
        "display_name": "Harbour Ferries",
        "url": "https://www.youtube.com/@harbour",
        "created_at": datetime(2012, 3, 4, 5, 6, 7, tzinfo=UTC),
        "followers": 12300,
        "description": "Ferries across the harbour.",
    }
    values.update(overrides)
    return Account(**values)


def _snapshot(
    n: int, *, samples: tuple[ThreadSample, ...] = (), skipped: int = 0, **account: Any
) -> AccountSnapshot:
    account.setdefault("post_count", n)
    return AccountSnapshot(
        account=_account(**account),
        posts=tuple(_post(i) for i in range(n)),
        thread_samples=samples,
        fetched_at=T0,
        skipped_items=skipped,
    )


@dataclass
class Recorder:
    """Wraps a handler: remembers every request and can answer the first ones with faults."""

    inner: Callable[[HttpRequest], HttpResponse | None]
    faults: list[HttpResponse] = field(default_factory=list)
    seen: list[HttpRequest] = field(default_factory=list)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.seen.append(request)
        if self.faults:
            return self.faults.pop(0)
        response = self.inner(request)
        assert response is not None, f"no route for {request.path}"
        return response

    def methods(self) -> list[str]:
        return [r.path.rsplit("/", 1)[-1] for r in self.seen]


@dataclass
class Clock:
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _settings(sample: int = 0) -> Settings:
    return load_settings(youtube_api_key=FAKE_YOUTUBE_KEY, youtube_comment_sample=sample)


def _connector(
    handler: Callable[[HttpRequest], HttpResponse],
    *,
    sample: int = 0,
    gate: Gate | None = None,
    attempts: int = 3,
    clock: Clock | None = None,
) -> YouTubeConnector:
    clock = clock or Clock()
    policy = RetryPolicy(
        max_attempts=attempts, sleep=clock.sleep, jitter=lambda _lo, hi: hi, base_delay_s=1.0
    )
    gate = gate or Gate(clock=lambda: clock.now, sleep=clock.sleep)
    return build(_settings(sample), Seam.handled_by(handler), policy=policy, gate=gate)


def _comparable(snap: AccountSnapshot) -> dict[str, Any]:
    """What the API can carry: everything but the fetch's own bookkeeping."""
    return snap.model_dump(
        include={"account", "posts", "thread_samples", "skipped_items"}, mode="json"
    )


# -- round trip --------------------------------------------------------------------------------


def test_round_trip_snapshot_through_fake_and_connector() -> None:
    posts = [
        _post(0, reply_policy=ReplyPolicy.DISABLED, replies=None),  # comments off
        _post(1, replies=0),  # comments on, nobody commented: not worth a unit
        _post(2, likes=None),  # likes hidden
        _post(3, text="Win a trip! #HarbourComp https://harbour.example/win @partnerco"),
        _post(4, views=None),
        *[_post(i) for i in range(5, 57)],
    ]
    posts[3] = posts[3].model_copy(
        update={
            "hashtags": ("HarbourComp",),
            "links": ("https://harbour.example/win",),
            "mentions": ("partnerco",),
        }
    )
    samples = (
        ThreadSample(post_id=posts[2].id, threads_seen=5, threads_answered=2),
        ThreadSample(post_id=posts[3].id, threads_seen=0, comments_disabled=True),
        ThreadSample(post_id=posts[4].id, threads_seen=4, threads_answered=0),
    )
    truth = AccountSnapshot(
        account=_account(post_count=len(posts) + 3),
        posts=tuple(posts),
        thread_samples=samples,
        fetched_at=T0,
        skipped_items=3,
    )
    recorder = Recorder(Fake([truth]).handle)
    got = _connector(recorder, sample=3).fetch(parse_handle("youtube", "@harbour"), max_posts=500)

    assert _comparable(got) == _comparable(truth)
    # 60 uploads listed (57 public + 3 private/deleted): 2 pages; plus 3 sampled videos.
    assert got.quota_units == 1 + 2 * 2 + 3
    assert got.requests == len(recorder.seen)
    assert "search" not in recorder.methods()


def test_round_trip_of_hidden_subscribers_and_channel_url_without_handle() -> None:
    truth = _snapshot(
        2,
        followers=None,
        url=f"https://www.youtube.com/channel/{CHANNEL_ID}",
        handle=CHANNEL_ID,  # the account's handle is what the analyst asked for
    )
    got = _connector(Fake([truth]).handle).fetch(parse_handle("youtube", CHANNEL_ID), max_posts=10)
    assert _comparable(got) == _comparable(truth)
    assert got.account.followers is None


# -- quota -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 50, 51, 120])
def test_quota_sits_on_the_floor(n: int) -> None:
    fake = Fake([_snapshot(n)])
    recorder = Recorder(fake.handle)
    got = _connector(recorder).fetch(parse_handle("youtube", "@harbour"), max_posts=1000)

    floor = 1 + 2 * math.ceil(n / 50)
    assert len(got.posts) == n
    assert got.quota_units == floor
    assert fake.units_spent == floor  # the simulated API's own meter agrees
    assert got.requests == floor


@pytest.mark.parametrize("n", [1, 50, 51, 120])
def test_planned_cost_is_what_a_full_channel_spends_with_its_comment_sample(n: int) -> None:
    fake = Fake([_snapshot(n)])
    got = _connector(fake.handle, sample=10).fetch(parse_handle("youtube", "@harbour"), max_posts=n)
    planned = planned_cost(n, _settings(10))
    assert got.quota_units == fake.units_spent == planned.quota_units
    assert got.quota_units == 1 + 2 * math.ceil(n / 50) + min(10, n)
    assert planned.requests == planned.quota_units
    assert registry_planned_cost(Platform.YOUTUBE, n, _settings(10)) == planned


def test_max_results_is_clamped_and_max_posts_caps_the_read() -> None:
    recorder = Recorder(Fake([_snapshot(120)]).handle)
    got = _connector(recorder).fetch(parse_handle("youtube", "@harbour"), max_posts=57)

    sizes = [int(r.query["maxResults"]) for r in recorder.seen if r.path.endswith("playlistItems")]
    assert sizes == [50, 7]
    ids_per_call = [
        len(r.query["id"].split(",")) for r in recorder.seen if r.path.endswith("/videos")
    ]
    assert ids_per_call == [50, 7]
    assert len(got.posts) == 57
    assert got.quota_units == 1 + 2 * 2


def test_since_stops_paging_at_the_first_older_upload() -> None:
    recorder = Recorder(Fake([_snapshot(120)]).handle)
    since = T0 - timedelta(days=3 * 10, hours=1)  # posts 0..10 are newer
    got = _connector(recorder).fetch(
        parse_handle("youtube", "@harbour"), max_posts=1000, since=since
    )
    assert [p.id for p in got.posts] == [_post(i).id for i in range(11)]
    assert got.quota_units == 3
    assert got.window_start == since


def test_private_and_deleted_uploads_are_skipped_and_counted() -> None:
    got = _connector(Fake([_snapshot(3, skipped=2)]).handle).fetch(
        parse_handle("youtube", "@harbour"), max_posts=50
    )
    assert len(got.posts) == 3
    assert got.skipped_items == 2


# -- resolution --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "units"),
    [("@nobody-here", 1), (f"UC{'z' * 22}", 1), ("youtube.com/user/nobody", 1), ("nobody", 2)],
)
def test_unknown_channel_is_not_found_not_an_error(raw: str, units: int) -> None:
    recorder = Recorder(Fake([_snapshot(3)]).handle)
    got = _connector(recorder).fetch(parse_handle("youtube", raw), max_posts=50)
    assert got.account.status is AccountStatus.NOT_FOUND
    assert got.posts == ()
    assert got.quota_units == units
    assert set(recorder.methods()) == {"channels"}


def test_bare_name_tries_handle_then_legacy_username() -> None:
    fake = Fake([_snapshot(2)])

    def legacy_only(request: HttpRequest) -> HttpResponse | None:
        if "forHandle" in request.query:
            return HttpResponse.json(200, {"kind": "youtube#channelListResponse", "items": []})
        return fake.handle(request)

    recorder = Recorder(legacy_only)
    got = _connector(recorder).fetch(parse_handle("youtube", "harbour"), max_posts=50)
    lookups = [r.query for r in recorder.seen if r.path.endswith("channels")]
    assert [("forHandle" in q, q.get("forUsername")) for q in lookups] == [
        (True, None),
        (False, "harbour"),
    ]
    assert got.account.status is AccountStatus.FOUND
    assert got.quota_units == 2 + 2


def test_channel_id_lookup_uses_id_filter_and_all_parts() -> None:
    recorder = Recorder(Fake([_snapshot(1)]).handle)
    _connector(recorder).fetch(parse_handle("youtube", CHANNEL_ID), max_posts=5)
    query = recorder.seen[0].query
    assert query["id"] == CHANNEL_ID
    assert set(query["part"].split(",")) == {"snippet", "statistics", "contentDetails", "status"}


def test_empty_channel_costs_one_unit() -> None:
    recorder = Recorder(Fake([_snapshot(0)]).handle)
    got = _connector(recorder, sample=10).fetch(parse_handle("youtube", "@harbour"), max_posts=50)
    assert got.account.status is AccountStatus.FOUND
    assert got.account.post_count == 0
    assert got.posts == ()
    assert got.quota_units == 1


def test_uploads_playlist_not_found_means_no_uploads() -> None:
    # videoCount unknown, so the playlist is read: an empty uploads playlist answers 404.
    got = _connector(Fake([_snapshot(0, post_count=None)]).handle).fetch(
        parse_handle("youtube", "@harbour"), max_posts=50
    )
    assert got.account.status is AccountStatus.FOUND
    assert got.posts == ()
    assert got.quota_units == 2
    assert any("uploads playlist not found" in note for note in got.notes)


# -- owner replies -----------------------------------------------------------------------------


def test_thread_sample_counts_owner_replies_on_most_recent_open_videos() -> None:
    samples = (
        ThreadSample(post_id=_post(0).id, threads_seen=100, threads_answered=37),
        ThreadSample(post_id=_post(1).id, threads_seen=6, threads_answered=6),
    )
    recorder = Recorder(Fake([_snapshot(5, samples=samples)]).handle)
    got = _connector(recorder, sample=2).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert got.thread_samples == samples
    threads = [r.query for r in recorder.seen if r.path.endswith("commentThreads")]
    assert [q["videoId"] for q in threads] == [_post(0).id, _post(1).id]
    assert all(q["maxResults"] == "100" and "replies" in q["part"] for q in threads)


def test_owner_started_threads_are_not_counted_as_commenters() -> None:
    owner_thread = {
        "snippet": {
            "topLevelComment": {"snippet": {"authorChannelId": {"value": CHANNEL_ID}}},
            "totalReplyCount": 0,
        }
    }
    fan_thread = {
        "snippet": {"topLevelComment": {"snippet": {"authorChannelId": {"value": "UCfan"}}}},
        "replies": {"comments": [{"snippet": {"authorChannelId": {"value": CHANNEL_ID}}}]},
    }
    fake = Fake([_snapshot(1)])

    def handler(request: HttpRequest) -> HttpResponse | None:
        if request.path.endswith("commentThreads"):
            return HttpResponse.json(200, {"items": [owner_thread, fan_thread]})
        return fake.handle(request)

    got = _connector(handler, sample=1).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert got.thread_samples == (
        ThreadSample(post_id=_post(0).id, threads_seen=1, threads_answered=1),
    )


def test_comments_disabled_403_is_a_signal_not_an_error() -> None:
    samples = (ThreadSample(post_id=_post(0).id, threads_seen=0, comments_disabled=True),)
    got = _connector(Fake([_snapshot(2, samples=samples)]).handle, sample=1).fetch(
        parse_handle("youtube", "@harbour"), max_posts=5
    )
    assert got.account.status is AccountStatus.FOUND
    assert got.thread_samples == samples


def test_comments_off_video_reads_as_disabled_with_unknown_replies() -> None:
    snap = _snapshot(1).model_copy(
        update={"posts": (_post(0, reply_policy=ReplyPolicy.DISABLED, replies=None),)}
    )
    recorder = Recorder(Fake([snap]).handle)
    got = _connector(recorder, sample=5).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert got.posts[0].reply_policy is ReplyPolicy.DISABLED
    assert got.posts[0].replies is None
    assert "commentThreads" not in recorder.methods()  # nothing to sample, nothing spent


# -- errors ------------------------------------------------------------------------------------


def _google_error(status: int, reason: str, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse.json(
        status, error_body(status, f"{reason} happened", reason, "global"), headers
    )


def test_quota_exceeded_stops_the_account_and_the_rest_of_the_run() -> None:
    fake = Fake([_snapshot(120), _snapshot(3, id="UCotherOtherOtherOther12", handle="other")],
                daily_quota=3)  # fmt: skip
    gate = Gate(sleep=lambda _s: pytest.fail("must not sleep"))
    connector = _connector(fake.handle, gate=gate)
    with pytest.raises(QuotaExceededError, match="daily") as caught:
        connector.fetch(parse_handle("youtube", "@harbour"), max_posts=200)
    assert caught.value.exit_code == 7
    assert gate.exhausted is not None
    assert connector.spent.quota_units == 4  # 3 served + the refused one
    calls = dict(fake.calls)

    # Another account on the same gate: refused before any request, by a fresh connector too.
    for again in (connector, _connector(fake.handle, gate=gate)):
        with pytest.raises(QuotaExceededError, match="quota"):
            again.fetch(parse_handle("youtube", "@other"), max_posts=10)
    assert fake.calls == calls


def test_rate_limited_then_served_is_retried_with_backoff() -> None:
    clock = Clock()
    recorder = Recorder(
        Fake([_snapshot(3)]).handle,
        faults=[
            _google_error(403, "rateLimitExceeded"),
            _google_error(403, "userRateLimitExceeded"),
        ],
    )
    got = _connector(recorder, clock=clock).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert len(got.posts) == 3
    assert got.requests == 3 + 2  # retries are requests too, and are charged
    assert clock.slept == [1.0, 2.0]


def test_retry_after_on_429_is_honoured() -> None:
    clock = Clock()
    recorder = Recorder(
        Fake([_snapshot(1)]).handle,
        faults=[HttpResponse.json(429, {"error": {"code": 429}}, {"retry-after": "7"})],
    )
    _connector(recorder, clock=clock).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert sum(clock.slept) == 7.0


def test_rate_limit_that_never_clears_gives_up_after_bounded_attempts() -> None:
    recorder = Recorder(Fake([]).handle, faults=[_google_error(403, "rateLimitExceeded")] * 10)
    with pytest.raises(RateLimitError) as caught:
        _connector(recorder, attempts=4).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert len(recorder.seen) == 4
    assert caught.value.exit_code == 5


def test_server_errors_are_retried_then_raised_as_transient() -> None:
    recovering = Recorder(Fake([_snapshot(1)]).handle, faults=[_google_error(503, "backendError")])
    got = _connector(recovering).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert len(got.posts) == 1

    failing = Recorder(Fake([]).handle, faults=[HttpResponse(500, {}, b"oops")] * 5)
    with pytest.raises(TransientError, match="HTTP 500"):
        _connector(failing, attempts=3).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert len(failing.seen) == 3


@pytest.mark.parametrize(
    "response",
    [
        Fake([], api_keys={"another-key"}).handle(
            HttpRequest("GET", f"http://x/youtube/v3/channels?key={FAKE_YOUTUBE_KEY}")
        ),
        _google_error(400, "keyInvalid"),
        _google_error(403, "forbidden"),
        _google_error(403, "accessNotConfigured"),
    ],
    ids=["badRequest-api-key", "keyInvalid", "forbidden", "accessNotConfigured"],
)
def test_rejected_key_is_an_auth_error_naming_the_variable(response: HttpResponse | None) -> None:
    assert response is not None
    recorder = Recorder(Fake([]).handle, faults=[response])
    with pytest.raises(AuthError, match="UPTAKE_YOUTUBE_API_KEY") as caught:
        _connector(recorder).fetch(parse_handle("youtube", "@harbour"), max_posts=5)
    assert len(recorder.seen) == 1  # fatal: not retried
    assert caught.value.exit_code == 4
    assert FAKE_YOUTUBE_KEY not in str(caught.value)
    assert "key=" not in str(caught.value)


@dataclass
class _MangledVideos:
    """The simulated API, except that videos.list answers with `bodies` in turn (the last one
    repeats) before the real answer when `then_real` is set."""

    bodies: list[bytes]
    then_real: bool = False
    videos_calls: int = 0
    fake: Fake = field(default_factory=lambda: Fake([_snapshot(2)]))

    def __call__(self, request: HttpRequest) -> HttpResponse | None:
        if not request.path.endswith("/videos"):
            return self.fake.handle(request)
        self.videos_calls += 1
        if self.then_real and self.videos_calls > len(self.bodies):
            return self.fake.handle(request)
        body = self.bodies[min(self.videos_calls, len(self.bodies)) - 1]
        return HttpResponse(200, {"content-type": "application/json"}, body)


TRUNCATED = b'{"items": [{"id": "hv0000'  # a body cut off on the way


@pytest.mark.parametrize(
    "body",
    [
        b'{"items": "nope"}',
        b'{"items": [{"id": "hv000000000", "statistics": {}}]}',
        b'{"items": [{"id": "x", "snippet": {"publishedAt": "yesterday"}}]}',
        b'{"items": [{"id": "x", "snippet": {"publishedAt": "2024-01-01T00:00:00Z"},'
        b' "statistics": {"viewCount": "many"}}]}',
        b"[1, 2]",
        b'"a JSON string"',
    ],
)
def test_json_of_the_wrong_shape_is_a_data_error_not_retried(body: bytes) -> None:
    handler = _MangledVideos([body])
    meter = Meter()
    with pytest.raises(DataError) as caught:
        _connector(handler).fetch(parse_handle("youtube", "@harbour"), max_posts=5, meter=meter)
    assert not isinstance(caught.value, MalformedBodyError)
    assert handler.videos_calls == 1  # the same request would bring back the same body
    assert (meter.requests, meter.quota_units) == (3, 3)


@pytest.mark.parametrize("body", [TRUNCATED, b"<html>not json</html>", b"", b'{"a": "\xe2\x82'])
def test_a_body_that_is_not_json_is_retried_and_every_attempt_costs_its_units(
    body: bytes,
) -> None:
    handler = _MangledVideos([body], then_real=True)
    meter = Meter()
    connector = _connector(handler)
    got = connector.fetch(parse_handle("youtube", "@harbour"), max_posts=5, meter=meter)
    assert len(got.posts) == 2
    assert handler.videos_calls == 2
    # channels.list + playlistItems.list + videos.list twice: the retry is charged again.
    assert (got.requests, got.quota_units) == (4, 4)
    assert (meter.requests, meter.quota_units) == (4, 4)
    assert connector.spent.quota_units == 4


def test_a_body_that_is_never_json_fails_after_bounded_attempts() -> None:
    handler = _MangledVideos([TRUNCATED])
    meter = Meter()
    connector = _connector(handler, attempts=3)
    with pytest.raises(MalformedBodyError) as caught:
        connector.fetch(parse_handle("youtube", "@harbour"), max_posts=5, meter=meter)
    assert handler.videos_calls == 3
    assert (meter.requests, meter.quota_units) == (5, 5)  # 1 + 1 + 3 attempts of videos.list
    assert connector.spent.quota_units == 5
    message = caught.value.message
    assert "videos.list" in message and "not JSON" in message and "(3 attempts)" in message
    assert "\n" not in message and FAKE_YOUTUBE_KEY not in message and "key=" not in message
    assert isinstance(caught.value, TransientError) and caught.value.exit_code == 5


def test_connector_never_asks_without_a_key_when_live() -> None:
    with pytest.raises(ConfigError, match="UPTAKE_YOUTUBE_API_KEY"):
        build(load_settings(), Seam.live(), policy=RetryPolicy.no_wait())


# -- seams: live against a local server, record, replay ----------------------------------------


@pytest.fixture
def local_youtube(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Fake, Settings]]:
    fake = Fake([_snapshot(60, skipped=1)], api_keys={FAKE_YOUTUBE_KEY})
    with serve(fake) as base_url:
        monkeypatch.setenv("UPTAKE_YOUTUBE_BASE_URL", base_url)
        monkeypatch.setenv("UPTAKE_YOUTUBE_API_KEY", FAKE_YOUTUBE_KEY)
        monkeypatch.setenv("UPTAKE_YOUTUBE_COMMENT_SAMPLE", "2")
        yield fake, load_settings()


def test_live_seam_follows_the_base_url_override(local_youtube: tuple[Fake, Settings]) -> None:
    fake, settings = local_youtube
    connector = make_connector(
        Platform.YOUTUBE, settings, Seam.live(), policy=RetryPolicy.no_wait()
    )
    got = connector.fetch(
        parse_handle("youtube", "https://www.youtube.com/@harbour"), max_posts=100
    )
    assert len(got.posts) == 60
    assert got.skipped_items == 1
    assert got.quota_units == fake.units_spent == 1 + 2 * 2 + 2


def test_recorded_cassette_holds_no_key_and_replays_offline(
    local_youtube: tuple[Fake, Settings], tmp_path: Path
) -> None:
    _fake, settings = local_youtube
    path = tmp_path / "youtube" / "harbour.json"
    cassette = Cassette(path, platform="youtube")
    recorded = build(settings, Seam.recording(cassette), policy=RetryPolicy.no_wait()).fetch(
        parse_handle("youtube", "@harbour"), max_posts=100
    )
    cassette.save()
    text = path.read_text(encoding="utf-8")
    assert "key=" not in text
    for secret in FAKE_SECRETS:
        assert secret not in text
    assert len(json.loads(text)["interactions"]) == recorded.requests

    offline_settings = load_settings(youtube_base_url="https://youtube.googleapis.com")
    replayed = build(
        offline_settings, Seam.replaying(Cassette.load(path)), policy=RetryPolicy.no_wait()
    ).fetch(parse_handle("youtube", "@harbour"), max_posts=100)
    assert _comparable(replayed) == _comparable(recorded)
    assert replayed.quota_units == recorded.quota_units


# -- the simulated API itself, and the benchmark -----------------------------------------------


def test_fake_ignores_other_platforms_and_answers_unknown_youtube_paths_404() -> None:
    fake = Fake([_snapshot(1)])
    assert fake.handle(HttpRequest("GET", "http://x/2/users/by/username/h")) is None
    assert fake.handle(HttpRequest("GET", "http://x/youtube/v3/search?key=k&q=x")) is None
    assert fake(HttpRequest("GET", "http://x/youtube/v3/search?key=k&q=x")).status == 404
    assert fake.units_spent == 0


def test_benchmark_reports_the_floor_for_every_size() -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "youtube_quota.py"
    spec = importlib.util.spec_from_file_location("youtube_quota", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run([50, 51, 120], comment_sample=4)
    assert [(n, floor, units, charged) for n, floor, units, charged, _s, _p in rows] == [
        (50, 3, 3, 3),
        (51, 5, 5, 5),
        (120, 7, 7, 7),
    ]
    assert all(sample == 4 and planned == units + 4 for _n, _f, units, _c, sample, planned in rows)
