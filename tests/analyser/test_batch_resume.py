"""A real `uptake batch` killed half-way (SIGKILL, Ctrl-C) resumes: nothing lost or refetched."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from analyser.models import Platform
from connectors.fakeapi import FakeApi, serve
from connectors.replay import HttpRequest, HttpResponse
from tests.analyser.test_batch import bench, read_rows
from tests.conftest import FAKE_FACEBOOK_TOKEN, FAKE_TWITTER_TOKEN, FAKE_YOUTUBE_KEY

BRANDS = 24
POSTS = 12
ACCOUNT = re.compile(r"brand(\d+)(yt|\.page)?(?![\w.])")
CHILD = "import sys; from analyser.cli import run; sys.exit(run(sys.argv[1:]))"


class Valve:
    """Serves `allow` requests, then holds every further one until opened: the batch is
    stopped mid-flight at a known point without any sleeping or timing in the test."""

    def __init__(self, api: FakeApi, allow: int) -> None:
        self.api = api
        self.allow = allow
        self.opened = threading.Event()
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            self.urls.append(unquote(request.url))
            over = len(self.urls) > self.allow
        if over:
            self.opened.wait(timeout=120)
        return self.api(request)

    def accounts(self, start: int = 0) -> set[tuple[Platform, int]]:
        """The accounts named by the requests served since index `start`."""
        found = set()
        for url in self.urls[start:]:
            for number, suffix in ACCOUNT.findall(url):
                platform = {"": Platform.TWITTER, "yt": Platform.YOUTUBE}.get(
                    suffix, Platform.FACEBOOK
                )
                found.add((platform, int(number)))
        return found


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Valve, dict[str, str], list[str]]]:
    api = FakeApi([s for i in range(BRANDS) for s in bench.synthetic_accounts(i, POSTS)])
    valve = Valve(api, allow=7 * 6)  # six brands' worth of requests, then the API hangs
    path = bench.competitors_csv(tmp_path / "competitors.csv", BRANDS)
    with serve(valve) as base:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPTAKE_")}
        env.update(
            UPTAKE_HOME=str(tmp_path / "home"),
            UPTAKE_TWITTER_BASE_URL=base,
            UPTAKE_YOUTUBE_BASE_URL=base,
            UPTAKE_FACEBOOK_BASE_URL=base,
            UPTAKE_TWITTER_BEARER_TOKEN=FAKE_TWITTER_TOKEN,
            UPTAKE_YOUTUBE_API_KEY=FAKE_YOUTUBE_KEY,
            UPTAKE_FACEBOOK_ACCESS_TOKEN=FAKE_FACEBOOK_TOKEN,
            UPTAKE_YOUTUBE_COMMENT_SAMPLE="0",
            UPTAKE_HTTP_TIMEOUT_S="120",
        )
        argv = [sys.executable, "-c", CHILD, "batch", str(path), "--max-posts", str(POSTS),
                "--concurrency", "2"]  # fmt: skip
        try:
            yield valve, env, argv
        finally:
            valve.opened.set()


def _start(argv: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [*argv, "--out", str(out)],
        env=env,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_brands(proc: subprocess.Popen[str], count: int) -> list[str]:
    """Read the plain progress lines (printed only once a brand is stored) until `count`."""
    assert proc.stderr is not None
    lines: list[str] = []
    while len(lines) < count:
        line = proc.stderr.readline()
        assert line, f"batch ended early: {proc.wait()} {lines}"
        if line.startswith("["):
            lines.append(line)
    return lines


def _stored(home: Path) -> tuple[set[tuple[str, str]], dict[str, int | None]]:
    engine = sa.create_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    with engine.connect() as conn:
        snaps = {
            (p, k) for p, k in conn.execute(sa.text("SELECT platform, handle_key FROM snapshots"))
        }
        results = dict(conn.execute(sa.text("SELECT brand, stage FROM brand_results")).all())
    engine.dispose()
    return snaps, results


def _key_account(platform: str, key: str) -> tuple[Platform, int]:
    match = ACCOUNT.search(key)
    assert match is not None
    return Platform(platform), int(match.group(1))


def test_sigkill_half_way_then_resume_loses_nothing_and_refetches_nothing(
    setup: tuple[Valve, dict[str, str], list[str]], tmp_path: Path
) -> None:
    valve, env, argv = setup
    proc = _start(argv, env, tmp_path / "out1")
    printed = _wait_for_brands(proc, 3)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    proc.communicate()
    stored_snaps, stored_results = _stored(tmp_path / "home")
    finished = {line.split("] ", 1)[1].split(":", 1)[0] for line in printed}
    assert finished <= set(stored_results)  # every brand reported done is in the database
    assert 3 <= len(stored_results) < BRANDS
    done_accounts = {_key_account(p, k) for p, k in stored_snaps}

    valve.opened.set()
    mark = len(valve.urls)
    second = _start(argv, env, tmp_path / "out2")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "Traceback" not in err
    refetched = valve.accounts(mark) & done_accounts
    assert refetched == set(), "finished accounts were fetched again"
    assert valve.accounts(mark) | done_accounts == {(p, i) for p in Platform for i in range(BRANDS)}
    rows = read_rows(tmp_path / "out2" / "results.csv")
    assert sorted(r["name"] for r in rows) == sorted(f"Brand {i}" for i in range(BRANDS))
    by_name = {r["name"]: r for r in rows}
    for name, stage in stored_results.items():
        assert by_name[name]["stage"] == str(stage)  # the finished result is the same

    mark = len(valve.urls)
    third = _start(argv, env, tmp_path / "out3")
    third.communicate(timeout=300)
    assert third.returncode == 0
    assert len(valve.urls) == mark  # within --max-age: no request at all
    summary = json.loads((tmp_path / "out3" / "summary.json").read_text())
    assert summary["requests"] == 0 and summary["ok"] == BRANDS


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(
    setup: tuple[Valve, dict[str, str], list[str]], tmp_path: Path
) -> None:
    valve, env, argv = setup
    proc = _start(argv, env, tmp_path / "out")
    _wait_for_brands(proc, 2)
    proc.send_signal(signal.SIGINT)
    valve.opened.set()  # let the workers' in-flight requests end so the process can exit
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["interrupted"] is True
    with (tmp_path / "out" / "results.csv").open(encoding="utf-8", newline="") as f:
        written = list(csv.DictReader(f))
    _, stored_results = _stored(tmp_path / "home")
    assert {r["name"] for r in written} == set(stored_results)
    assert 2 <= len(written) < BRANDS
