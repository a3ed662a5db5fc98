"""Quota units the YouTube connector spends per channel, against the floor 1 + 2 x ceil(N/50).

Runs the real connector against the simulated API (in process, no network) for channels of 50,
200 and 1,000 uploads. The units come from two independent meters, the connector's own count
and the simulated API's charge, and must agree.

    .venv/bin/python benchmarks/youtube_quota.py [--comment-sample 10] [--sizes 50,200,1000]
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a plain checkout too

from analyser.config import load_settings
from analyser.handles import parse_handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    ReplyPolicy,
)
from connectors.base import Gate, RetryPolicy
from connectors.fakeapi.youtube import Fake
from connectors.replay import Seam
from connectors.youtube import build

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def channel(n: int) -> AccountSnapshot:
    """A channel of n public uploads, one every two days, comments on for every third."""
    channel_id = "UC" + f"bench{n:017d}"
    posts = tuple(
        Post(
            id=f"b{n:05d}v{i:05d}",
            created_at=T0 - timedelta(days=2 * i),
            title=f"Video {i}",
            text="",
            url=f"https://www.youtube.com/watch?v=b{n:05d}v{i:05d}",
            views=100 + i,
            likes=i,
            replies=3 if i % 3 == 0 else None,
            reply_policy=ReplyPolicy.OPEN if i % 3 == 0 else ReplyPolicy.DISABLED,
        )
        for i in range(n)
    )
    account = Account(
        platform=Platform.YOUTUBE,
        handle=f"bench{n}",
        status=AccountStatus.FOUND,
        id=channel_id,
        display_name=f"Bench {n}",
        post_count=n,
    )
    return AccountSnapshot(account=account, posts=posts, fetched_at=T0)


def run(sizes: list[int], comment_sample: int) -> list[tuple[int, int, int, int, int, int]]:
    """(N, floor, units without the sample, fake's charge, sample units, planned) per size."""
    rows = []
    for n in sizes:
        snap = channel(n)
        floor = 1 + 2 * math.ceil(n / 50)
        measured: dict[int, tuple[int, int]] = {}
        for sample in (0, comment_sample):
            fake = Fake([snap])
            settings = load_settings(youtube_comment_sample=sample)  # offline: no key needed
            connector = build(
                settings, Seam.handled_by(fake), policy=RetryPolicy.no_wait(), gate=Gate()
            )
            got = connector.fetch(parse_handle("youtube", f"@bench{n}"), max_posts=n)
            if got.quota_units != fake.units_spent:
                raise SystemExit(f"meters disagree for N={n}: {got.quota_units} vs fake")
            measured[sample] = (got.quota_units, fake.units_spent)
        bare, charged = measured[0]
        with_sample = measured[comment_sample][0]
        planned = connector.planned_cost(n).quota_units
        rows.append((n, floor, bare, charged, with_sample - bare, planned))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comment-sample", type=int, default=10)
    parser.add_argument("--sizes", default="50,200,1000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = run(sizes, args.comment_sample)
    print(f"{'videos':>7} {'floor':>6} {'units':>6} {'ratio':>6} {'sample':>7} {'planned':>8}")
    for n, floor, units, _charged, sample_units, planned in rows:
        print(f"{n:>7} {floor:>6} {units:>6} {units / floor:>6.2f} {sample_units:>7} {planned:>8}")
    print(
        "units: connector count (= simulated API charge) without the comment sample; "
        f"sample: extra units for --comment-sample {args.comment_sample}; "
        "planned: the upper bound --quota-budget checks"
    )
    worst = max(units / floor for _n, floor, units, *_ in rows)
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
