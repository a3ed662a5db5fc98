"""The CLI at the edge: documented exit codes, one-line errors, no tracebacks, no secrets."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from analyser.cli import run
from analyser.errors import ExitCode
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    PostKind,
    ReplyPolicy,
    ThreadSample,
)
from connectors.fakeapi import FakeApi, serve
from tests.conftest import FAKE_FACEBOOK_TOKEN, FAKE_TWITTER_TOKEN, FAKE_YOUTUBE_KEY

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text("utf-8")
)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["analyse", "--name", "B", "--twitter", "bad handle"], "contains spaces"),
        (["analyse", "--name", "B", "--twitter", "https://youtube.com/@x"], "--youtube"),
        (["analyse", "--name", "B", "--youtube", "https://youtu.be/abc"], "video URL"),
        (["analyse", "--name", "B", "--facebook", "facebook.com/groups/x"], "a group"),
        (["analyse", "--name", "B"], "at least one account"),
        (["analyse", "--name", "B", "--twitter", "a", "--as-of", "yesterday"], "--as-of"),
        (["analyse", "--name", "B", "--twitter", "a", "--max-posts", "0"], "--max-posts"),
        (["analyse", "--name", "B", "--twitter", "a", "--format", "pdf"], "--format"),
        (["analyse", "--twitter", "a"], "--name"),
        (["nonsense"], "No such command"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(args) == ExitCode.BAD_INPUT
    assert needle in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("flag", "variable"),
    [
        ("--twitter", "UPTAKE_TWITTER_BEARER_TOKEN"),
        ("--youtube", "UPTAKE_YOUTUBE_API_KEY"),
        ("--facebook", "UPTAKE_FACEBOOK_ACCESS_TOKEN"),
    ],
)
def test_live_without_credential_names_the_variable(
    flag: str, variable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["analyse", "--name", "B", flag, "somebrand"]) == ExitCode.CONFIG
    assert variable in _one_line_error(capsys.readouterr().err)


def test_offline_without_recording_exits_6(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["analyse", "--name", "B", "--twitter", "norecording1", "--offline"])
    assert code == ExitCode.FIXTURE
    assert "uptake record" in _one_line_error(capsys.readouterr().err)


def test_quota_budget_refuses_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["analyse", "--name", "B", "--youtube", "@somechannel", "--quota-budget", "3"])
    assert code == ExitCode.QUOTA
    assert "quota" in _one_line_error(capsys.readouterr().err)


def test_schema_command_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == SCHEMA


# -- end to end against a local server named by UPTAKE_<PLATFORM>_BASE_URL --------------------


def _posts(n: int, platform: Platform) -> tuple[Post, ...]:
    posts = []
    for i in range(n):
        kind = (
            PostKind.REPLY if (platform is Platform.TWITTER and i % 3 == 0) else PostKind.ORIGINAL
        )
        posts.append(
            Post(
                id=f"{1000 + i}" if platform is not Platform.YOUTUBE else f"vid{i:08d}",
                created_at=AS_OF - timedelta(days=2 * i + 1),
                text=f"Post number {i}: thanks for asking, tell us what you think",
                title=f"Video {i}" if platform is Platform.YOUTUBE else None,
                kind=kind,
                reply_to_user_id="999" if kind is PostKind.REPLY else None,
                likes=10 + i,
                reposts=2 if platform is not Platform.YOUTUBE else None,
                replies=3,
                views=500 + i if platform is not Platform.FACEBOOK else None,
                reply_policy=ReplyPolicy.OPEN,
            )
        )
    return tuple(posts)


def _snapshot(platform: Platform, handle: str, ident: str, n: int) -> AccountSnapshot:
    posts = _posts(n, platform)
    samples: tuple[ThreadSample, ...] = ()
    if platform is not Platform.TWITTER:
        samples = tuple(
            ThreadSample(post_id=p.id, threads_seen=3, threads_answered=2) for p in posts[:10]
        )
    return AccountSnapshot(
        account=Account(
            platform=platform,
            handle=handle,
            status=AccountStatus.FOUND,
            id=ident,
            display_name=handle.title(),
            created_at=AS_OF - timedelta(days=2000),
            followers=12000,
            following=300 if platform is Platform.TWITTER else None,
            post_count=n,
            description="Example brand",
        ),
        posts=posts,
        thread_samples=samples,
        fetched_at=AS_OF,
    )


@pytest.mark.parametrize(
    ("platform", "flag", "handle", "ident", "n", "floor"),
    [
        (Platform.TWITTER, "--twitter", "brandx", "4242", 150, lambda n: 1 + math.ceil(n / 100)),
        (
            Platform.FACEBOOK,
            "--facebook",
            "brandxpage",
            "5555555",
            120,
            lambda n: 1 + math.ceil(n / 100),
        ),
        (
            Platform.YOUTUBE,
            "--youtube",
            "@brandxtv",
            "UCabcdefghijklmnopqrstuv",
            60,
            lambda n: 1 + 2 * math.ceil(n / 50),
        ),
    ],
)
def test_analyse_json_against_a_local_server(
    platform: Platform,
    flag: str,
    handle: str,
    ident: str,
    n: int,
    floor: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snap = _snapshot(platform, handle.lstrip("@"), ident, n)
    fake = FakeApi([snap])
    with serve(fake) as base_url:
        for name in ("TWITTER", "YOUTUBE", "FACEBOOK"):
            monkeypatch.setenv(f"UPTAKE_{name}_BASE_URL", base_url)
        monkeypatch.setenv("UPTAKE_TWITTER_BEARER_TOKEN", FAKE_TWITTER_TOKEN)
        monkeypatch.setenv("UPTAKE_YOUTUBE_API_KEY", FAKE_YOUTUBE_KEY)
        monkeypatch.setenv("UPTAKE_FACEBOOK_ACCESS_TOKEN", FAKE_FACEBOOK_TOKEN)
        monkeypatch.setenv("UPTAKE_YOUTUBE_COMMENT_SAMPLE", "0")
        code = run(["analyse", "--name", "Brand X", flag, handle, "--format", "json",
                    "--as-of", "2026-11-01"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["brand"] == "Brand X"
    assert 0 <= doc["stage"] <= 7
    assert doc["platforms"][0]["status"] == "found"
    assert doc["platforms"][0]["platform"] == platform.value
    assert doc["coverage"]["posts_analysed"] == n
    assert doc["coverage"]["requests"] == floor(n)  # type: ignore[operator]
    assert any(ev["platform"] == platform.value for ev in doc["evidence"])
    for secret in (FAKE_TWITTER_TOKEN, FAKE_YOUTUBE_KEY, FAKE_FACEBOOK_TOKEN):
        assert secret not in out + err
    # A live analysis is kept for `uptake history`.
    assert run(["history", "Brand X", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)
