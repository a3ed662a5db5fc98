"""The batch runner over the simulated API: outputs, resume from the database, faults, CLI exits."""

from __future__ import annotations

import csv
import importlib.util
import json
import threading
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from analyser.batch import parse_concurrency, parse_max_age, plan_batch, run_batch
from analyser.batch_cli import LineProgress, make_progress
from analyser.batchio import BrandOutcome, BrandSpec, OutputWriter
from analyser.cli import run
from analyser.config import Settings
from analyser.errors import AuthError, BadInputError, ExitCode
from analyser.handles import Handle, parse_handle
from analyser.models import AccountSnapshot, Platform
from analyser.pipeline import Runtime
from analyser.storage import Storage
from connectors.base import RetryPolicy
from connectors.fakeapi import FakeApi, serve
from connectors.replay import Handler, HttpRequest, HttpResponse
from tests.conftest import FAKE_FACEBOOK_TOKEN, FAKE_SECRETS, FAKE_TWITTER_TOKEN, FAKE_YOUTUBE_KEY

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "benchmarks" / "batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()
POSTS = 12


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def brand_specs(n: int, start: int = 0) -> list[BrandSpec]:
    out = []
    for i in range(start, start + n):
        handles = tuple(parse_handle(p, h) for p, (h, _) in bench.handles(i).items())
        out.append(BrandSpec(f"Brand {i}", handles, i + 2))
    return out


class Recorder:
    """Counts what reaches the simulated API, per platform; can fail chosen accounts."""

    def __init__(self, inner: Handler, *, failing: tuple[str, ...] = (), status: int = 500) -> None:
        self.inner = inner
        self.failing = failing
        self.status = status
        self.count = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            self.count += 1
            self.paths.append(request.url)
        if any(name in request.url for name in self.failing):
            return HttpResponse.json(self.status, {"title": "boom", "detail": "boom"})
        return self.inner(request)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi([s for i in range(40) for s in bench.synthetic_accounts(i, POSTS)])


def runtime_for(
    settings: Settings, handler: Handler, storage: Storage | None, **kw: object
) -> Runtime:
    cache = storage.cache(max_posts=POSTS) if storage is not None else None
    return Runtime(
        settings.model_copy(update={"youtube_comment_sample": 0}),
        mode="simulated",
        handler=handler,
        max_posts=POSTS,
        cache=cache,
        policy=RetryPolicy.no_wait(2),
        **kw,  # type: ignore[arg-type]
    )


def test_batch_writes_everything_and_a_second_run_makes_no_requests(
    settings: Settings, api: FakeApi, tmp_path: Path
) -> None:
    storage = Storage.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    recorder = Recorder(api)
    brands = brand_specs(6)
    summary = run_batch(
        brands,
        runtime_for(settings, recorder, storage),
        storage=storage,
        out=OutputWriter(tmp_path / "out"),
        concurrency=3,
        source="c.csv",
    )
    assert (summary.ok, summary.partial, summary.failed) == (6, 0, 0)
    assert summary.requests == recorder.count == 6 * (2 + 3 + 2)  # at the floor for 12 posts
    assert summary.platforms["youtube"].quota_units == summary.youtube_quota_units == 6 * 3
    assert summary.x_post_reads == 6 * POSTS
    assert summary.x_post_read_cost_usd == pytest.approx(6 * POSTS * 0.005)
    out = tmp_path / "out"
    rows = read_rows(out / "results.csv")
    assert sorted(r["name"] for r in rows) == sorted(b.name for b in brands)
    assert all(r["status"] == "ok" and r["stage"] != "" for r in rows)
    assert len(json.loads((out / "results.json").read_text())) == 6
    assert json.loads((out / "summary.json").read_text())["requests"] == recorder.count
    assert (out / "signals.parquet").exists() and (out / "signals.csv").exists()
    assert storage.snapshot_count() == 18
    assert len(storage.results(summary.run_id or 0)) == 6
    assert [e.report.stage for e in storage.history("brand 3")] == [
        int(next(r["stage"] for r in rows if r["name"] == "Brand 3"))
    ]

    again = run_batch(
        brands, runtime_for(settings, recorder, storage), storage=storage, concurrency=3
    )
    assert recorder.count == summary.requests  # nothing new reached the API
    assert again.requests == 0 and again.ok == 6
    assert sum(p.cached for p in again.platforms.values()) == 18
    # --refresh fetches again; max-age 0 reuses nothing
    fresh = runtime_for(settings, recorder, storage, max_age=timedelta(0))
    assert run_batch(brand_specs(1), fresh, storage=storage).requests == 7


def test_shared_accounts_are_fetched_once(settings: Settings, api: FakeApi) -> None:
    recorder = Recorder(api)
    twin = brand_specs(1)[0]
    brands = [twin, BrandSpec("Twin", twin.handles, 3)]
    summary = run_batch(brands, runtime_for(settings, recorder, None), concurrency=2)
    assert summary.ok == 2 and recorder.count == 7


def test_per_platform_concurrency_is_bounded_and_used(settings: Settings, api: FakeApi) -> None:
    active: dict[Platform, int] = dict.fromkeys(Platform, 0)
    peak: dict[Platform, int] = dict.fromkeys(Platform, 0)
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=30)  # the first two YouTube calls must overlap
    seen: list[int] = []

    def handler(request: HttpRequest) -> HttpResponse:
        platform = bench._platform_of(request)
        with lock:
            active[platform] += 1
            peak[platform] = max(peak[platform], active[platform])
        try:
            meet = False
            if platform is Platform.YOUTUBE:
                with lock:
                    seen.append(1)
                    meet = len(seen) <= 2
            if meet:
                barrier.wait()
            return api(request)
        finally:
            with lock:
                active[platform] -= 1

    limits = {Platform.TWITTER: 1, Platform.YOUTUBE: 2, Platform.FACEBOOK: 3}
    summary = run_batch(brand_specs(8), runtime_for(settings, handler, None), concurrency=limits)
    assert summary.ok == 8
    assert peak[Platform.YOUTUBE] == 2
    assert peak[Platform.TWITTER] == 1
    assert peak[Platform.FACEBOOK] <= 3


def test_brands_in_flight_are_bounded_whatever_the_list_length(
    settings: Settings, api: FakeApi
) -> None:
    # Memory is set by the window of brands fetched but not yet written, not by the list:
    # max(2 x group_size, 3 x the busiest platform's workers) = max(2 x 3, 3 x 2) = 6 here.
    started: set[str] = set()
    done: set[str] = set()
    peak = [0]
    lock = threading.Lock()

    class Watched(Runtime):
        def fetch(self, handle: Handle) -> AccountSnapshot:
            brand = "Brand " + handle.value.removeprefix("brand").split("yt")[0].split(".")[0]
            with lock:
                started.add(brand)
                peak[0] = max(peak[0], len(started - done))
            return super().fetch(handle)

    def finished(outcome: BrandOutcome) -> None:
        with lock:
            done.add(outcome.name)

    runtime = Watched(
        settings.model_copy(update={"youtube_comment_sample": 0}),
        mode="simulated",
        handler=api,
        max_posts=POSTS,
        policy=RetryPolicy.no_wait(2),
    )
    limits = {Platform.TWITTER: 2, Platform.YOUTUBE: 1, Platform.FACEBOOK: 2}
    summary = run_batch(
        brand_specs(40), runtime, concurrency=limits, group_size=3, on_outcome=finished
    )
    assert summary.ok == 40 and done == {f"Brand {i}" for i in range(40)}
    assert 3 < peak[0] <= 6


def test_failing_accounts_become_rows_and_the_batch_goes_on(
    settings: Settings, api: FakeApi, tmp_path: Path
) -> None:
    # brand0: every account fails -> failed; brand1: only X fails -> partial; others ok
    recorder = Recorder(api, failing=("brand0", "10000000", "UC" + "0" * 22, "500000000", "brand1?",
                                      "/2/users/by/username/brand1"))  # fmt: skip
    storage = Storage.open("sqlite://")
    summary = run_batch(
        brand_specs(4),
        runtime_for(settings, recorder, storage),
        storage=storage,
        out=OutputWriter(tmp_path / "out"),
    )
    assert (summary.ok, summary.partial, summary.failed) == (2, 1, 1)
    rows = {r["name"]: r for r in read_rows(tmp_path / "out/results.csv")}
    assert rows["Brand 0"]["status"] == "failed" and rows["Brand 0"]["stage"] == ""
    assert "\n" not in rows["Brand 0"]["error"] and "twitter brand0" in rows["Brand 0"]["error"]
    assert rows["Brand 1"]["status"] == "partial" and rows["Brand 1"]["stage"] != ""
    assert {f["name"] for f in summary.failures} == {"Brand 0", "Brand 1"}
    # failed fetches are kept, but a later run tries them again
    again = run_batch(brand_specs(4), runtime_for(settings, Recorder(api), storage))
    assert again.ok == 4 and again.requests == 7 + 2


def test_auth_errors_stop_the_batch_keeping_what_finished(settings: Settings, api: FakeApi) -> None:
    storage = Storage.open("sqlite://")
    recorder = Recorder(api, failing=("brand5",), status=401)
    with pytest.raises(AuthError):
        run_batch(
            brand_specs(12), runtime_for(settings, recorder, storage), storage=storage,
            concurrency=1, group_size=1, max_wait_s=0.0,
        )  # fmt: skip
    with storage.engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM runs")).scalar()
    assert status == "interrupted"


def test_plan_counts_cached_accounts_as_free(settings: Settings, api: FakeApi) -> None:
    storage = Storage.open("sqlite://")
    runtime = runtime_for(settings, Recorder(api), storage)
    plan = plan_batch(brand_specs(3), runtime)
    assert plan.platforms[Platform.YOUTUBE].cost.quota_units == 3 * 3
    assert plan.platforms[Platform.TWITTER].cost.post_reads == 3 * POSTS
    run_batch(brand_specs(1), runtime, storage=storage)
    plan = plan_batch(brand_specs(3), runtime)
    assert [p.cached for p in plan.platforms.values()] == [1, 1, 1]
    assert plan.cost.requests == 2 * 7
    assert "3 brands; at most 14 requests" in "\n".join(plan.lines())


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)), ("2d", timedelta(days=2)),
     ("30", timedelta(seconds=30)), ("0", timedelta(0)), (" 1.5H ", timedelta(minutes=90))],
)  # fmt: skip
def test_parse_max_age(text: str, expected: timedelta) -> None:
    assert parse_max_age(text) == expected


@pytest.mark.parametrize("text", ["", "h", "-1h", "soon", "nanh"])
def test_parse_max_age_rejects(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_max_age(text)


def test_parse_concurrency() -> None:
    assert parse_concurrency(["4", "youtube=2"]) == {
        Platform.TWITTER: 4, Platform.YOUTUBE: 2, Platform.FACEBOOK: 4,
    }  # fmt: skip
    for bad in ("0", "tiktok=3", "x", "youtube=100"):
        with pytest.raises(BadInputError):
            parse_concurrency([bad])


def test_progress_kinds(settings: Settings, api: FakeApi) -> None:
    lines: list[str] = []
    ticks = iter(range(100))
    progress = LineProgress(lines.append, clock=lambda: float(next(ticks)))
    run_batch(brand_specs(2), runtime_for(settings, api, None), progress=progress)
    assert len(lines) == 2
    assert lines[0].startswith("[1/2] Brand ") and ": ok, stage " in lines[0]
    assert lines[1].startswith("[2/2] ") and lines[1].endswith("eta 0s")
    assert type(make_progress(quiet=True)).__name__ == "QuietProgress"
    assert type(make_progress(quiet=False, terminal=False)).__name__ == "LineProgress"
    assert type(make_progress(quiet=False, terminal=True)).__name__ == "RichProgress"


# -- the command line, against the simulated API served on 127.0.0.1 -----------------------------


@pytest.fixture
def served(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder(api)
    with serve(recorder) as base:
        for platform in ("TWITTER", "YOUTUBE", "FACEBOOK"):
            monkeypatch.setenv(f"UPTAKE_{platform}_BASE_URL", base)
        monkeypatch.setenv("UPTAKE_TWITTER_BEARER_TOKEN", FAKE_TWITTER_TOKEN)
        monkeypatch.setenv("UPTAKE_YOUTUBE_API_KEY", FAKE_YOUTUBE_KEY)
        monkeypatch.setenv("UPTAKE_FACEBOOK_ACCESS_TOKEN", FAKE_FACEBOOK_TOKEN)
        monkeypatch.setenv("UPTAKE_YOUTUBE_COMMENT_SAMPLE", "0")
        monkeypatch.setenv("UPTAKE_MAX_RETRIES", "0")
        yield recorder


def _csv(tmp_path: Path, n: int, extra: str = "") -> Path:
    path = bench.competitors_csv(tmp_path / "competitors.csv", n)
    if extra:
        with path.open("a", encoding="utf-8") as f:
            f.write(extra)
    return path


def test_cli_batch_end_to_end_then_resume_with_no_requests(
    served: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, 5)
    argv = ["batch", str(path), "--out", str(tmp_path / "out"), "--max-posts", str(POSTS)]
    assert run(argv) == ExitCode.OK
    first = served.count
    assert first == 5 * 7
    captured = capsys.readouterr()
    assert "5 brands: 5 ok, 0 partial, 0 failed" in captured.out
    assert captured.err.count("] Brand ") == 5  # plain lines: stderr is not a terminal here
    assert run([*argv, "--quiet"]) == ExitCode.OK
    assert served.count == first
    assert capsys.readouterr().err == ""
    # no secret in any output or the database
    blobs = [p.read_bytes() for p in (tmp_path / "out").iterdir()]
    db = tmp_path / "home" / "uptake.sqlite3"
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        blobs += [
            zlib.decompress(d) for (d,) in conn.execute(sa.text("SELECT data FROM snapshots"))
        ]
        blobs += [str(r).encode() for r in conn.execute(sa.text("SELECT * FROM brand_results"))]
    for blob in blobs:
        for secret in FAKE_SECRETS:
            assert secret.encode() not in blob


def test_cli_partial_failures_exit_8(
    served: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served.failing = ("/2/users/by/username/brand1",)
    path = _csv(tmp_path, 3)
    code = run(["batch", str(path), "--out", str(tmp_path / "o"), "--max-posts", str(POSTS)])
    assert code == ExitCode.PARTIAL
    assert "Traceback" not in capsys.readouterr().err
    rows = read_rows(tmp_path / "o" / "results.csv")
    assert len(rows) == 3 and sorted(r["status"] for r in rows) == ["ok", "ok", "partial"]


def test_cli_bad_file_fetches_nothing_and_exits_2(
    served: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, 3, extra="Brand 1,@dup,,\n,@noname,,\nBad,not a handle,,\n")
    assert run(["batch", str(path), "--out", str(tmp_path / "o")]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "competitors.csv: line 5: duplicate brand 'Brand 1' (first on line 3)" in err
    assert "line 6: the brand name is empty" in err
    assert "line 7: twitter:" in err
    assert "Traceback" not in err
    assert served.count == 0
    assert not (tmp_path / "o").exists()


def test_cli_plan_and_quota_budget_fetch_nothing(
    served: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, 4)
    assert run(["batch", str(path), "--plan", "--max-posts", str(POSTS)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "youtube" in out and "4 brands; at most 28 requests, 12 YouTube quota units" in out
    argv = ["batch", str(path), "--out", str(tmp_path / "o"), "--max-posts", str(POSTS)]
    assert run([*argv, "--quota-budget", "11"]) == ExitCode.QUOTA
    assert "over the budget of 11" in capsys.readouterr().err
    assert served.count == 0
    assert run([*argv, "--quota-budget", "12", "-q"]) == ExitCode.OK
    assert served.count == 28
