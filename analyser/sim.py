"""A seeded generator of synthetic brands at known stages: the truth the classifier is tested on."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from analyser.handles import Handle, parse_handle
from analyser.models import AccountSnapshot, AccountStatus, Platform
from analyser.sim_render import BANKS, SYLLABLES, AccountPlan, render_account

__all__ = [
    "ARCHETYPES",
    "BANKS",
    "AccountPlan",
    "SimBrand",
    "generate",
    "make_brand",
    "render_account",
    "unique_handles",
]

_SUFFIXES = ("co", "hq", "ltd", "works", "goods", "house", "lab", "shop", "mkt", "studio")
_CAMPAIGN_WORDS = ("summer", "xmas", "promo", "contest", "giveaway", "winter", "launch", "comp")


@dataclass(frozen=True)
class SimBrand:
    name: str
    label: int
    archetype: str
    plans: tuple[AccountPlan, ...]
    snapshots: tuple[AccountSnapshot, ...] = field(default=(), repr=False)

    @property
    def handles(self) -> tuple[Handle, ...]:
        return tuple(_handle(p.platform, p.handle) for p in self.plans)


def _handle(platform: Platform, value: str) -> Handle:
    return parse_handle(platform, "@" + value if platform is Platform.YOUTUBE else value)


# ---------------------------------------------------------------------------- archetypes


@dataclass(frozen=True)
class _Ctx:
    rng: random.Random
    stem: str
    platforms: tuple[Platform, ...]
    as_of: datetime

    def u(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def i(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def followers(self, small: bool = False) -> int:
        if small:
            return self.i(120, 900)
        return int(10 ** self.u(2.7, 6.3))


def _names(rng: random.Random) -> tuple[str, str]:
    stem = rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
    suffix = rng.choice(_SUFFIXES)
    return f"{stem.title()} {suffix.title()} (synthetic)", f"{stem}{suffix}"


def _broadcast_topics(ctx: _Ctx) -> dict[str, float]:
    return {
        "neutral": ctx.u(0.5, 0.8),
        "broadcast": ctx.u(0.1, 0.35),
        "promo": ctx.u(0.0, 0.15),
        "calls": ctx.u(0.0, 0.06),
        "commerce": ctx.u(0.0, 0.1),
    }


def _main(ctx: _Ctx, platform: Platform, **kw: object) -> AccountPlan:
    handle = ctx.stem if platform is not Platform.YOUTUBE else f"{ctx.stem}tv"
    base = AccountPlan(
        platform=platform,
        handle=handle,
        created_days_ago=ctx.u(900, 4500),
        followers=ctx.followers(),
        following=ctx.i(50, 900),
        eras=((ctx.i(25, 70), 0.5, 360.0), (ctx.i(10, 50), 366.0, 720.0)),
        topics=(_broadcast_topics(ctx), _broadcast_topics(ctx)),
        reply_share=(ctx.u(0.0, 0.1), ctx.u(0.0, 0.1)),
        repost_share=(ctx.u(0.0, 0.08), ctx.u(0.0, 0.08)),
        response_rate=(ctx.u(0.0, 0.15), ctx.u(0.0, 0.15)),
        closed_share=ctx.u(0.0, 0.9),
        engagement_rate=10 ** ctx.u(-3.7, -1.8),
        spread=ctx.u(0.3, 0.8),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _stage0(ctx: _Ctx) -> list[AccountPlan]:
    return [
        AccountPlan(platform=p, handle=_main(ctx, p).handle, status=AccountStatus.NOT_FOUND)
        for p in ctx.platforms
    ]


def _stage1(ctx: _Ctx) -> list[AccountPlan]:
    plans = []
    for p in ctx.platforms:
        roll = ctx.rng.random()
        if roll < 0.5:
            plans.append(_main(ctx, p, eras=(), following=ctx.i(0, 40), followers=ctx.i(0, 60)))
        elif roll < 0.85 or p is not Platform.TWITTER:
            old = ctx.u(420, 2500)
            plans.append(
                _main(
                    ctx,
                    p,
                    eras=((ctx.i(1, 6), old, old + ctx.u(1, 60)),),
                    topics=({"neutral": 1.0},),
                    following=ctx.i(0, 60),
                    followers=ctx.i(5, 300),
                )
            )
        else:
            plans.append(_main(ctx, p, status=AccountStatus.PROTECTED))
    return plans


def _stage2(ctx: _Ctx) -> list[AccountPlan]:
    plans = [_main(ctx, Platform.TWITTER, eras=(), following=ctx.i(150, 4000))]
    if ctx.rng.random() < 0.5:
        old = ctx.u(400, 1500)
        plans[0] = replace(plans[0], eras=((ctx.i(1, 4), old, old + 30),))
    for p in ctx.platforms:
        if p is not Platform.TWITTER:
            plans.append(_main(ctx, p, eras=(), followers=ctx.i(0, 50)))
    return plans


def _stage3(ctx: _Ctx) -> list[AccountPlan]:
    return [_main(ctx, p) for p in ctx.platforms]


def _stage3_regressed(ctx: _Ctx) -> list[AccountPlan]:
    plans = _stage3(ctx)
    two_way = {"neutral": 0.6, "calls": 0.3, "broadcast": 0.1}
    for n, plan in enumerate(plans):
        if plan.platform is not Platform.FACEBOOK:
            plans[n] = replace(
                plan,
                eras=(plan.eras[0], (ctx.i(50, 90), 366.0, 720.0)),
                topics=(plan.topics[0], two_way),
                reply_share=(plan.reply_share[0], ctx.u(0.35, 0.6)),
                response_rate=(plan.response_rate[0], ctx.u(0.4, 0.8)),
                closed_share=ctx.u(0.0, 0.3),
            )
    return plans


def _stage3_founding_year(ctx: _Ctx) -> list[AccountPlan]:
    year = ctx.i(1880, 1975)
    plans = _stage3(ctx)
    out = []
    for plan in plans:
        letters = plan.handle.rstrip(string.digits + "tv")[:8]
        handle = (
            f"{letters}_{year}" if plan.platform is not Platform.YOUTUBE else f"{letters}{year}"
        )
        out.append(
            replace(
                plan,
                handle=handle,
                created_days_ago=ctx.u(1500, 4500),
                eras=((ctx.i(30, 60), 0.5, 360.0), (ctx.i(30, 60), 366.0, 720.0)),
            )
        )
    return out


def _stage3_five_posts(ctx: _Ctx) -> list[AccountPlan]:
    plan = _main(ctx, ctx.platforms[0], eras=((5, 3.0, 300.0),), closed_share=ctx.u(0.0, 0.5))
    rest = [_main(ctx, p, eras=(), followers=ctx.i(0, 40)) for p in ctx.platforms[1:]]
    return [plan, *rest]


def _stage4(ctx: _Ctx) -> list[AccountPlan]:
    plans = _stage3(ctx)
    for n, plan in enumerate(plans):
        if plan.platform is not Platform.FACEBOOK or n == 0:
            plans[n] = replace(
                plan,
                viral_posts=ctx.i(1, 2),
                viral_multiple=ctx.u(12, 120),
                spread=ctx.u(0.3, 0.5),
                engagement_rate=10 ** ctx.u(-3.3, -2.0),
                topics=({**plan.topics[0], "viral": 0.1}, plan.topics[1]),
            )
    return plans


def _campaign_plan(ctx: _Ctx, platform: Platform, *, deleted: bool, ended: float) -> AccountPlan:
    word = ctx.rng.choice(_CAMPAIGN_WORDS)
    year = (ctx.as_of - timedelta(days=ended)).year
    stem = ctx.stem[:5]
    handle = f"{stem}{word}{year}" if ctx.rng.random() < 0.6 else f"{stem}{word}"
    if len(handle) > 13:  # X allows 15 characters; the YouTube twin adds "tv"
        handle = f"{stem}{word}"
    if deleted:
        return AccountPlan(platform=platform, handle=handle, status=AccountStatus.NOT_FOUND)
    burst = ctx.u(30, 45)
    return AccountPlan(
        platform=platform,
        handle=handle if platform is not Platform.YOUTUBE else handle + "tv",
        created_days_ago=ended + burst + ctx.u(1, 20),
        followers=ctx.i(300, 8000),
        following=ctx.i(10, 300),
        eras=((ctx.i(15, 60), ended, ended + burst),),
        topics=({"promo": ctx.u(0.4, 0.8), "neutral": 0.3, "calls": ctx.u(0.0, 0.05)},),
        reply_share=(ctx.u(0.0, 0.15),),
        closed_share=ctx.u(0.0, 0.3),
        engagement_rate=10 ** ctx.u(-2.5, -1.5),
    )


def _stage5(ctx: _Ctx) -> list[AccountPlan]:
    plans = _stage3(ctx)
    n = ctx.i(1, 2)
    for k in range(n):
        platform = Platform.TWITTER if k == 0 else Platform.FACEBOOK
        plans.append(_campaign_plan(ctx, platform, deleted=False, ended=ctx.u(95, 650)))
    return plans


def _stage5_deleted(ctx: _Ctx) -> list[AccountPlan]:
    plans = _stage3(ctx)
    plans.append(_campaign_plan(ctx, Platform.TWITTER, deleted=True, ended=300))
    if ctx.rng.random() < 0.5:
        plans.append(_campaign_plan(ctx, Platform.FACEBOOK, deleted=True, ended=300))
    return plans


def _stage5_running(ctx: _Ctx) -> list[AccountPlan]:
    plans = _stage3(ctx)
    plans.append(_campaign_plan(ctx, Platform.TWITTER, deleted=False, ended=ctx.u(0.5, 20)))
    return plans


def _two_way_topics(ctx: _Ctx) -> dict[str, float]:
    return {
        "neutral": ctx.u(0.4, 0.7),
        "calls": ctx.u(0.15, 0.35),
        "broadcast": ctx.u(0.0, 0.1),
        "promo": ctx.u(0.0, 0.05),
    }


def _stage6(ctx: _Ctx, small: bool = False) -> list[AccountPlan]:
    plans = []
    for p in ctx.platforms:
        plan = _main(
            ctx,
            p,
            topics=(_two_way_topics(ctx), _two_way_topics(ctx)),
            reply_share=(ctx.u(0.18, 0.65), ctx.u(0.18, 0.6)),
            repost_share=(ctx.u(0.0, 0.08), ctx.u(0.0, 0.08)),
            response_rate=(ctx.u(0.4, 0.9), ctx.u(0.3, 0.9)),
            closed_share=ctx.u(0.0, 0.1),
            engagement_rate=10 ** ctx.u(-2.5, -1.3),
            chatty=True,
        )
        if small:
            plan = replace(plan, followers=ctx.followers(small=True), following=ctx.i(80, 600))
        plans.append(plan)
    return plans


def _stage6_small(ctx: _Ctx) -> list[AccountPlan]:
    return _stage6(ctx, small=True)


def _stage7(ctx: _Ctx) -> list[AccountPlan]:
    plans = []
    for p in ctx.platforms:
        topics = {
            "commerce": ctx.u(0.3, 0.75),
            "neutral": ctx.u(0.1, 0.3),
            "calls": ctx.u(0.0, 0.1),
        }
        plans.append(
            _main(
                ctx,
                p,
                topics=(topics, topics),
                reply_share=(ctx.u(0.15, 0.35), ctx.u(0.15, 0.35)),
                repost_share=(ctx.u(0.25, 0.45), ctx.u(0.2, 0.4)),
                response_rate=(ctx.u(0.3, 0.8), ctx.u(0.3, 0.8)),
                closed_share=ctx.u(0.0, 0.1),
                engagement_rate=10 ** ctx.u(-2.5, -1.3),
                chatty=True,
            )
        )
    return plans


# Archetypes per stage: (name, builder, relative frequency).
ARCHETYPES: dict[int, tuple[tuple[str, object, float], ...]] = {
    0: (("no accounts", _stage0, 1.0),),
    1: (("registered, unused or protected", _stage1, 1.0),),
    2: (("listening post", _stage2, 1.0),),
    3: (
        ("broadcaster", _stage3, 0.55),
        ("regressed to broadcast", _stage3_regressed, 0.2),
        ("founding year in handle", _stage3_founding_year, 0.15),
        ("five posts", _stage3_five_posts, 0.1),
    ),
    4: (("viral hit, no dialogue", _stage4, 1.0),),
    5: (
        ("abandoned campaign accounts", _stage5, 0.5),
        ("deleted campaign accounts", _stage5_deleted, 0.25),
        ("campaign running now", _stage5_running, 0.25),
    ),
    6: (("two-way brand", _stage6, 0.7), ("tiny two-way business", _stage6_small, 0.3)),
    7: (("community commerce platform", _stage7, 1.0),),
}


def make_brand(stage: int, seed: int, *, as_of: datetime, archetype: str | None = None) -> SimBrand:
    """One synthetic brand at `stage`, fully determined by `seed`."""
    rng = random.Random(seed)
    name, stem = _names(rng)
    stem = f"{stem[:10]}{rng.randrange(10, 99)}"
    count = rng.choice((2, 2, 3))
    platforms = tuple(rng.sample(list(Platform), count))
    if Platform.TWITTER in platforms:  # the main account first, X first when there is one
        platforms = (Platform.TWITTER, *[p for p in platforms if p is not Platform.TWITTER])
    options = ARCHETYPES[stage]
    if archetype is None:
        roll = rng.random() * sum(w for _, _, w in options)
        chosen = options[-1]
        for option in options:
            roll -= option[2]
            if roll <= 0:
                chosen = option
                break
    else:
        chosen = next(o for o in options if o[0] == archetype)
    builder = chosen[1]
    ctx = _Ctx(rng, stem, platforms, as_of)
    plans = tuple(builder(ctx))  # type: ignore[operator]
    snaps = tuple(
        render_account(plan, as_of=as_of, seed=seed * 31 + k) for k, plan in enumerate(plans)
    )
    return SimBrand(name, stage, chosen[0], plans, snaps)


def generate(n: int, *, seed: int, as_of: datetime) -> list[SimBrand]:
    """`n` brands, spread evenly over stages 0-7, reproducible from `seed`.

    >>> from datetime import UTC
    >>> [b.label for b in generate(8, seed=1, as_of=datetime(2026, 11, 1, tzinfo=UTC))]
    [0, 1, 2, 3, 4, 5, 6, 7]
    """
    master = random.Random(seed)
    brands: list[SimBrand] = []
    seen: set[tuple[Platform, str]] = set()
    for k in range(n):
        while True:  # the simulated API looks accounts up by handle: keep them unique
            brand = make_brand(k % 8, master.randrange(1 << 30), as_of=as_of)
            keys = {(p.platform, p.handle.lower()) for p in brand.plans}
            if not keys & seen and len(keys) == len(brand.plans):
                seen |= keys
                brands.append(brand)
                break
    return brands


def unique_handles(brands: Sequence[SimBrand]) -> bool:
    """Whether no two accounts of the set share a platform handle (the fake API needs that)."""
    seen: set[tuple[Platform, str]] = set()
    for brand in brands:
        for plan in brand.plans:
            key = (plan.platform, plan.handle.lower())
            if key in seen:
                return False
            seen.add(key)
    return True
