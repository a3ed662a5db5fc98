"""The bundled demo brands: fictional, synthetic, one or more per stage plus the hard cases."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from analyser.handles import Handle, parse_handle
from analyser.models import AccountSnapshot, AccountStatus, Platform
from analyser.sim import AccountPlan, render_account

__all__ = [
    "DEMO_AS_OF",
    "DemoBrand",
    "build_fixtures",
    "demo_brands",
    "demo_plans",
    "demo_snapshots",
]

# The fixed recording date of the demo fixtures: the analysis date of `uptake demo`.
DEMO_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)

T, Y, F = Platform.TWITTER, Platform.YOUTUBE, Platform.FACEBOOK

_BROADCAST = {"neutral": 0.55, "broadcast": 0.4, "promo": 0.03, "calls": 0.02}
_TWO_WAY = {"neutral": 0.55, "calls": 0.35, "broadcast": 0.05, "promo": 0.05}
_COMMERCE = {"commerce": 0.7, "neutral": 0.2, "calls": 0.1}
_CAMPAIGN = {"promo": 0.7, "neutral": 0.3}


@dataclass(frozen=True)
class DemoBrand:
    """A fictional brand with the stage it was built to show (`label`) and why (`note`)."""

    name: str
    label: int
    handles: tuple[Handle, ...]
    note: str


@dataclass(frozen=True)
class _Demo:
    name: str
    label: int
    note: str
    plans: tuple[AccountPlan, ...]


def _recent(n: int) -> tuple[int, float, float]:
    return (n, 1.0, 350.0)


def _before(n: int) -> tuple[int, float, float]:
    return (n, 370.0, 720.0)


def _broadcaster(platform: Platform, handle: str, **kw: object) -> AccountPlan:
    plan = AccountPlan(
        platform=platform,
        handle=handle,
        created_days_ago=3200,
        followers=48_000,
        following=210,
        eras=(_recent(48), _before(30)),
        topics=(_BROADCAST, _BROADCAST),
        reply_share=(0.01, 0.01),
        response_rate=(0.0, 0.0),
        closed_share=0.7,
        engagement_rate=0.0008,
        spread=0.4,
    )
    return _replace(plan, **kw)


def _replace(plan: AccountPlan, **kw: object) -> AccountPlan:
    from dataclasses import replace

    return replace(plan, **kw)  # type: ignore[arg-type]


_DEMOS: tuple[_Demo, ...] = (
    _Demo(
        "Quillfeather Stationers (synthetic)",
        0,
        "stage 0: no account exists on any platform asked about",
        (
            AccountPlan(platform=T, handle="quillfeather", status=AccountStatus.NOT_FOUND),
            AccountPlan(
                platform=F, handle="quillfeatherstationers", status=AccountStatus.NOT_FOUND
            ),
        ),
    ),
    _Demo(
        "Ironbark Freight (synthetic)",
        1,
        "stage 1: an X account registered and never used, a Facebook page with three posts "
        "from years ago",
        (
            AccountPlan(platform=T, handle="ironbarkfreight", followers=12, following=3),
            AccountPlan(
                platform=F,
                handle="ironbarkfreight",
                followers=40,
                eras=((3, 1500.0, 1530.0),),
                topics=({"neutral": 1.0},),
            ),
        ),
    ),
    _Demo(
        "Marlowe Mutual Insurance (synthetic)",
        2,
        "stage 2: an X account that follows 1,400 accounts and has never posted; an unused channel",
        (
            AccountPlan(platform=T, handle="marlowemutual", followers=85, following=1400),
            AccountPlan(platform=Y, handle="marlowemutual", followers=4),
        ),
    ),
    _Demo(
        "Northwind Appliances (synthetic)",
        3,
        "stage 3: CEO interviews, announcements and TV ads, comments mostly off, no replies",
        (
            _broadcaster(T, "northwindappl"),
            _broadcaster(Y, "northwindappliances", followers=9_500),
            _broadcaster(F, "northwindappliances", followers=61_000),
        ),
    ),
    _Demo(
        "Fizzbolt Energy (synthetic)",
        4,
        "stage 4 and a hard case: one viral video and post, shared widely, no dialogue",
        (
            _broadcaster(T, "fizzbolt", viral_posts=1, viral_multiple=60.0, closed_share=0.1),
            _broadcaster(
                Y,
                "fizzbolt",
                followers=15_000,
                viral_posts=1,
                viral_multiple=80.0,
                closed_share=0.0,
            ),
        ),
    ),
    _Demo(
        "Tidewater Ice Cream (synthetic)",
        5,
        "stage 5: a broadcasting main account beside campaign accounts abandoned after a burst",
        (
            _broadcaster(T, "tidewatericecrm", closed_share=0.2),
            _broadcaster(F, "tidewatericecream", closed_share=0.2),
            AccountPlan(
                platform=T,
                handle="tidesummer2025",
                created_days_ago=480,
                followers=3_100,
                following=90,
                eras=((40, 420.0, 462.0),),
                topics=(_CAMPAIGN,),
                reply_share=(0.05,),
                engagement_rate=0.01,
            ),
            AccountPlan(
                platform=F,
                handle="tidewatersummerpromo",
                created_days_ago=480,
                followers=2_200,
                eras=((30, 420.0, 462.0),),
                topics=(_CAMPAIGN,),
                engagement_rate=0.01,
            ),
        ),
    ),
    _Demo(
        "Brightloom Yarns (synthetic)",
        6,
        "stage 6: asks knitters to design and vote, answers most replies and comments",
        (
            AccountPlan(
                platform=T,
                handle="brightloomyarns",
                created_days_ago=2600,
                followers=22_000,
                following=1_900,
                eras=(_recent(60), _before(40)),
                topics=(_TWO_WAY, _TWO_WAY),
                reply_share=(0.45, 0.4),
                repost_share=(0.05, 0.05),
                closed_share=0.0,
                engagement_rate=0.01,
            ),
            AccountPlan(
                platform=Y,
                handle="brightloomyarns",
                created_days_ago=2400,
                followers=6_800,
                eras=(_recent(30), _before(20)),
                topics=(_TWO_WAY, _TWO_WAY),
                response_rate=(0.7, 0.6),
                engagement_rate=0.02,
                chatty=True,
            ),
            AccountPlan(
                platform=F,
                handle="brightloomyarns",
                created_days_ago=2800,
                followers=15_000,
                eras=(_recent(40), _before(30)),
                topics=(_TWO_WAY, _TWO_WAY),
                engagement_rate=0.01,
                chatty=True,
            ),
        ),
    ),
    _Demo(
        "Stallholder Market (synthetic)",
        7,
        "stage 7: a makers' marketplace whose feeds pass on members' listings and sales",
        (
            AccountPlan(
                platform=T,
                handle="stallholdermkt",
                created_days_ago=2100,
                followers=38_000,
                following=4_200,
                eras=(_recent(70), _before(50)),
                topics=(_COMMERCE, _COMMERCE),
                reply_share=(0.25, 0.25),
                repost_share=(0.35, 0.3),
                closed_share=0.0,
                engagement_rate=0.008,
            ),
            AccountPlan(
                platform=Y,
                handle="stallholdermarket",
                created_days_ago=2000,
                followers=11_000,
                eras=(_recent(30), _before(25)),
                topics=(_COMMERCE, _COMMERCE),
                response_rate=(0.5, 0.5),
                engagement_rate=0.015,
                chatty=True,
            ),
            AccountPlan(
                platform=F,
                handle="stallholdermarket",
                created_days_ago=2300,
                followers=52_000,
                eras=(_recent(45), _before(35)),
                topics=(_COMMERCE, _COMMERCE),
                engagement_rate=0.006,
                chatty=True,
            ),
        ),
    ),
    _Demo(
        "Hollis Bakery (synthetic)",
        3,
        "hard case: a founding year (1921) in the handles of long-lived, active accounts is not "
        "a campaign name",
        (
            _broadcaster(T, "hollis1921", created_days_ago=4200, followers=2_600, closed_share=0.0),
            _broadcaster(F, "hollisbakery1921", created_days_ago=4400, followers=5_400),
        ),
    ),
    _Demo(
        "Corvid Telecom (synthetic)",
        3,
        "hard case: collaborated a year ago (requests for input, many replies), now only "
        "broadcasts: regressed",
        (
            _broadcaster(
                T,
                "corvidtelecom",
                followers=210_000,
                eras=(_recent(50), _before(70)),
                topics=(_BROADCAST, _TWO_WAY),
                reply_share=(0.01, 0.45),
            ),
            _broadcaster(
                Y,
                "corvidtelecom",
                followers=30_000,
                eras=(_recent(25), _before(30)),
                topics=(_BROADCAST, _TWO_WAY),
                response_rate=(0.0, 0.6),
                chatty=True,
                closed_share=0.0,
            ),
        ),
    ),
    _Demo(
        "Pebble Lane Cafe (synthetic)",
        6,
        "hard case: a tiny business (a few hundred followers) that answers every customer",
        (
            AccountPlan(
                platform=T,
                handle="pebblelanecafe",
                created_days_ago=1500,
                followers=340,
                following=280,
                eras=(_recent(55), _before(30)),
                topics=({"neutral": 0.8, "calls": 0.2}, {"neutral": 1.0}),
                reply_share=(0.6, 0.5),
                engagement_rate=0.03,
            ),
            AccountPlan(
                platform=F,
                handle="pebblelanecafe",
                created_days_ago=1600,
                followers=510,
                eras=(_recent(35), _before(20)),
                topics=({"neutral": 0.8, "calls": 0.2}, {"neutral": 1.0}),
                engagement_rate=0.03,
                chatty=True,
            ),
        ),
    ),
    _Demo(
        "Sunmeadow Cereals (synthetic)",
        5,
        "hard case: the campaign accounts were deleted after the campaign (not found)",
        (
            _broadcaster(T, "sunmeadowcereal", followers=90_000),
            _broadcaster(Y, "sunmeadowcereals", followers=12_000),
            AccountPlan(platform=T, handle="sunmeadwin2025", status=AccountStatus.NOT_FOUND),
            AccountPlan(platform=F, handle="sunmeadowgiveaway2025", status=AccountStatus.NOT_FOUND),
        ),
    ),
    _Demo(
        "Ashgrove Dental (synthetic)",
        3,
        "hard case: an account with five posts; too little to be sure (insufficient evidence)",
        (
            _broadcaster(
                T, "ashgrovedental", followers=150, following=60, eras=((5, 10.0, 200.0),)
            ),
            AccountPlan(platform=F, handle="ashgrovedental", followers=30),
        ),
    ),
)


def demo_plans() -> list[tuple[str, int, str, tuple[AccountPlan, ...]]]:
    """Every demo brand as (name, label, note, account plans)."""
    return [(d.name, d.label, d.note, d.plans) for d in _DEMOS]


def _handle(plan: AccountPlan) -> Handle:
    raw = "@" + plan.handle if plan.platform is Platform.YOUTUBE else plan.handle
    return parse_handle(plan.platform, raw)


def demo_brands() -> list[DemoBrand]:
    """The demo brands, each with the stage it was built to show."""
    return [DemoBrand(d.name, d.label, tuple(_handle(p) for p in d.plans), d.note) for d in _DEMOS]


def demo_snapshots() -> list[AccountSnapshot]:
    """The truth behind the demo fixtures: every demo account, generated with fixed seeds."""
    out = []
    for b, demo in enumerate(_DEMOS):
        for k, plan in enumerate(demo.plans):
            out.append(render_account(plan, as_of=DEMO_AS_OF, seed=1000 * (b + 1) + k))
    return out


def build_fixtures(fixtures_dir: Path) -> None:
    """Record every demo account through the real connectors from the simulated APIs.

    Serves FakeApi(demo_snapshots()) on 127.0.0.1, points the base URLs at it and writes one
    scrubbed cassette per account under `fixtures_dir`, dated DEMO_AS_OF.
    """
    from analyser.evaluate import simulated_settings
    from analyser.pipeline import DEFAULT_MAX_POSTS
    from connectors import make_connector
    from connectors.base import RetryPolicy
    from connectors.fakeapi import FakeApi, serve
    from connectors.replay import Cassette, Seam, cassette_path

    with serve(FakeApi(demo_snapshots())) as base_url:
        settings = simulated_settings().model_copy(
            update={
                "twitter_base_url": base_url,
                "youtube_base_url": base_url,
                "facebook_base_url": base_url,
            }
        )
        for brand in demo_brands():
            for handle in brand.handles:
                path = cassette_path(fixtures_dir, handle.platform.value, handle.value)
                cassette = Cassette(path, platform=handle.platform.value, recorded_at=DEMO_AS_OF)
                connector = make_connector(
                    handle.platform,
                    settings,
                    Seam.recording(cassette),
                    policy=RetryPolicy.no_wait(),
                )
                connector.fetch(handle, max_posts=DEFAULT_MAX_POSTS)
                cassette.save()


def main(argv: list[str]) -> int:
    """`python -m analyser.demo build-fixtures [DIR]` (default: the repository's fixtures/)."""
    if not argv or argv[0] != "build-fixtures":
        print("usage: python -m analyser.demo build-fixtures [DIR]", file=sys.stderr)
        return 2
    from analyser.config import REPO_FIXTURES

    target = Path(argv[1]) if len(argv) > 1 else REPO_FIXTURES
    build_fixtures(target)
    print(f"recorded {sum(len(b.handles) for b in demo_brands())} accounts into {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
