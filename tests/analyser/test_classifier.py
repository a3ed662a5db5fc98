"""The classifier: rules as data traced to the seeds, the stage ladder, and the hard cases."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from analyser.classifier import assess, assess_many, explain, load_rules, parse_rules
from analyser.demo import demo_brands
from analyser.features import SIGNALS, WORD_LISTS, load_words
from analyser.models import STAGE_NAMES, AccountSnapshot, AccountStatus, BrandReport, Platform
from analyser.sim import AccountPlan, render_account

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
T, Y, F = Platform.TWITTER, Platform.YOUTUBE, Platform.FACEBOOK
BROADCAST = {"neutral": 0.6, "broadcast": 0.4}


def plan(platform: Platform, handle: str, **kw: Any) -> AccountPlan:
    base: dict[str, Any] = {
        "platform": platform,
        "handle": handle,
        "created_days_ago": 3000,
        "followers": 20_000,
        "following": 100,
        "eras": ((40, 1.0, 350.0), (30, 370.0, 720.0)),
        "topics": (BROADCAST, BROADCAST),
        "closed_share": 0.6,
        "engagement_rate": 0.001,
        "spread": 0.4,
    }
    base.update(kw)
    return AccountPlan(**base)


def run(*plans: AccountPlan, name: str = "Brand") -> BrandReport:
    snaps = [render_account(p, as_of=AS_OF, seed=k + 7) for k, p in enumerate(plans)]
    return assess(name, snaps, as_of=AS_OF)


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed texts live outside the repository")
def test_every_rule_quotes_a_seed_sentence() -> None:
    seeds = _norm(" ".join(p.read_text("utf-8") for p in SEEDS.glob("*.txt")))
    ruleset = load_rules()
    for rule in ruleset.rules:
        assert _norm(rule.seed) in seeds, rule.name
    assert _norm(ruleset.regression_seed) in seeds


def test_rules_cover_every_stage_and_explain_themselves() -> None:
    ruleset = load_rules()
    assert {r.stage for r in ruleset.rules} == set(range(8))
    for rule in ruleset.rules:
        assert rule.rationale and rule.seed, rule.name
    assert set(ruleset.advice_next) == set(range(8))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"signal": "followerz"}, "unknown signal"),
        ({"op": "=~"}, "unknown op"),
        ({"stage": 9}, "outside 0-7"),
        ({"op": "is", "threshold": 1}, "true/false"),
    ],
)
def test_bad_rule_data_is_rejected(patch: dict[str, Any], message: str) -> None:
    rule = {
        "name": "r",
        "signal": "reply_rate",
        "op": ">=",
        "threshold": 0.2,
        "stage": 6,
        "weight": 1.0,
        "rationale": "x",
        "seed": "y",
    }
    rule.update(patch)
    with pytest.raises(ValueError, match=message):
        parse_rules({"rule": [rule]}, {})


def test_rules_and_word_lists_never_name_a_demo_brand_or_handle() -> None:
    data = resources.files("analyser").joinpath("data")
    texts = [data.joinpath(n).read_text("utf-8").lower() for n in ("rules.toml", "advice.toml")]
    words = {w for name in [*WORD_LISTS.values(), "campaign_names"] for w in load_words(name)}
    for brand in demo_brands():
        name = brand.name.lower().replace(" (synthetic)", "")
        for text in texts:
            assert name not in text
        assert name not in words
        for handle in brand.handles:
            value = handle.value.lower()
            assert value not in words
            for text in texts:
                assert not re.search(rf"\b{re.escape(value)}\b", text), value


def test_rule_file_parses_as_toml() -> None:
    raw = resources.files("analyser").joinpath("data", "rules.toml").read_text("utf-8")
    doc = tomllib.loads(raw)
    assert len(doc["rule"]) == len(load_rules().rules)


def test_no_accounts_is_stage_0_with_a_range() -> None:
    report = run(
        AccountPlan(platform=T, handle="nobodyhere", status=AccountStatus.NOT_FOUND),
        AccountPlan(platform=F, handle="nobodyhere", status=AccountStatus.NOT_FOUND),
    )
    assert report.stage == 0
    assert report.stage_name == STAGE_NAMES[0]
    assert report.insufficient_evidence and report.stage_range == (0, 2)
    assert [e.rule for e in report.evidence] == ["no_public_account"]


def test_unreadable_accounts_are_reported_not_crashed_on() -> None:
    report = run(AccountPlan(platform=T, handle="broken", status=AccountStatus.ERROR))
    assert report.stage == 0
    assert report.platforms[0].status is AccountStatus.ERROR
    assert not any(e.rule == "no_public_account" for e in report.evidence)
    assert any("could not be read" in n for n in report.notes)


def test_protected_account_is_stage_1() -> None:
    report = run(AccountPlan(platform=T, handle="locked", status=AccountStatus.PROTECTED))
    assert report.stage == 1


def test_listening_post_is_stage_2() -> None:
    report = run(plan(T, "ears", eras=(), following=2500), plan(Y, "ears", eras=()))
    assert report.stage == 2
    assert report.confidence <= 0.45


def test_stage_is_not_size() -> None:
    tiny_two_way = run(
        plan(
            T,
            "tiny",
            followers=300,
            reply_share=(0.5, 0.5),
            closed_share=0.0,
            engagement_rate=0.03,
        ),
        name="Tiny",
    )
    giant_broadcast = run(
        plan(T, "giant", followers=9_000_000, engagement_rate=0.002), name="Giant"
    )
    assert tiny_two_way.stage == 6
    assert giant_broadcast.stage == 3


def test_abandoned_campaign_marks_stage_5_beside_a_broadcaster() -> None:
    campaign = plan(
        T,
        "brandpromo2025",
        created_days_ago=300,
        eras=((30, 200.0, 240.0),),
        topics=({"promo": 0.7, "neutral": 0.3},),
        closed_share=0.0,
    )
    report = run(plan(T, "brand"), campaign)
    assert report.stage == 5
    fired = {e.rule for e in report.evidence if e.stage == 5}
    assert {"burst_then_silence", "campaign_named_account"} <= fired
    burst = next(e for e in report.evidence if e.rule == "burst_then_silence")
    assert len(burst.examples) == 3 and "brandpromo2025/status/" in burst.examples[0]
    assert any("rename" in a.lower() for a in report.advice)
    main, side = report.platforms
    assert main.stage == 3 and side.stage == 5


def test_deleted_campaign_accounts_are_reported() -> None:
    report = run(
        plan(T, "brand"),
        AccountPlan(platform=F, handle="brandgiveaway2024", status=AccountStatus.NOT_FOUND),
    )
    assert report.stage == 5
    assert any("brandgiveaway2024 not_found" in n and "campaign" in n for n in report.notes)
    assert report.platforms[1].stage is None


def test_founding_year_is_not_a_campaign() -> None:
    report = run(plan(T, "bakery1921", created_days_ago=4000), plan(F, "bakery1921"))
    assert report.stage == 3
    assert report.platforms[0].signals["founding_year"] == 1921
    assert not any(e.rule == "campaign_named_account" for e in report.evidence)


def test_regression_to_broadcast_is_reported() -> None:
    was_two_way = plan(
        T,
        "slid",
        eras=((40, 1.0, 350.0), (60, 370.0, 720.0)),
        topics=(BROADCAST, {"neutral": 0.6, "calls": 0.4}),
        reply_share=(0.0, 0.5),
    )
    report = run(was_two_way)
    assert report.stage == 3
    assert report.regressed_from == 6
    assert any(e.rule == "regressed" for e in report.evidence)


def test_viral_hit_without_dialogue_is_stage_4() -> None:
    report = run(plan(T, "fizz", viral_posts=1, viral_multiple=80.0, closed_share=0.0))
    assert report.stage == 4
    viral = next(e for e in report.evidence if e.rule == "viral_outlier")
    assert viral.examples and viral.examples[0].startswith("https://x.com/fizz/status/")


def test_community_commerce_is_stage_7() -> None:
    report = run(
        plan(
            T,
            "market",
            topics=({"commerce": 0.8, "neutral": 0.2},) * 2,
            reply_share=(0.25, 0.25),
            repost_share=(0.35, 0.35),
            closed_share=0.0,
        ),
        plan(Y, "market", topics=({"commerce": 0.8, "neutral": 0.2},) * 2, closed_share=0.0),
    )
    assert report.stage == 7


def test_five_posts_is_insufficient_evidence_with_a_range() -> None:
    report = run(plan(T, "five", eras=((5, 5.0, 100.0),)))
    assert report.stage == 3
    assert report.insufficient_evidence
    assert report.stage_range is not None and report.stage_range[0] <= 3 <= report.stage_range[1]
    assert report.confidence <= 0.4


def test_confidence_grows_with_evidence() -> None:
    thin = run(plan(T, "thin", eras=((14, 1.0, 300.0),)))
    broad = run(plan(T, "broad", eras=((60, 1.0, 300.0),)), plan(F, "broad"))
    assert thin.stage == broad.stage == 3
    assert broad.confidence > thin.confidence


def test_report_is_complete() -> None:
    report = run(plan(T, "brand"), plan(Y, "brand"))
    assert report.coverage.accounts == 2
    assert report.coverage.posts_analysed == 140
    assert report.coverage.date_from is not None and report.coverage.date_to is not None
    assert report.advice
    for result in report.platforms:
        assert result.stage_name == STAGE_NAMES[result.stage or 0]
        assert "reply_rate" in result.signals
    assert report.platforms[1].signals["reply_rate"] is None  # YouTube shows no replies as posts
    BrandReport.model_validate_json(report.model_dump_json())


def test_explain_lists_rules_values_and_examples() -> None:
    report = run(plan(T, "fizz", viral_posts=1, viral_multiple=80.0, closed_share=0.0))
    lines = explain(report)
    assert lines[0].startswith("Brand: stage 4")
    text = "\n".join(lines)
    for ev in report.evidence:
        assert ev.rule in text
    assert "virality_ratio = " in text
    assert "e.g. https://x.com/fizz/status/" in text


def test_assess_many_matches_assess() -> None:
    plans = [
        [plan(T, "one")],
        [plan(T, "two", reply_share=(0.5, 0.5), closed_share=0.0)],
        [AccountPlan(platform=Y, handle="three", status=AccountStatus.NOT_FOUND)],
        [],
    ]
    brands: list[tuple[str, list[AccountSnapshot]]] = [
        (f"b{k}", [render_account(p, as_of=AS_OF, seed=k) for p in ps])
        for k, ps in enumerate(plans)
    ]
    together = assess_many(brands, as_of=AS_OF)
    alone = [assess(name, snaps, as_of=AS_OF) for name, snaps in brands]
    assert [r.model_dump() for r in together] == [r.model_dump() for r in alone]
    assert [r.stage for r in together] == [3, 6, 0, 0]


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_docs_describe_every_rule_and_signal() -> None:
    stages = (DOCS / "stages.md").read_text("utf-8")
    signals = (DOCS / "signals.md").read_text("utf-8")
    ruleset = load_rules()
    for rule in ruleset.rules:
        row = next(
            (
                line
                for line in stages.splitlines()
                if line.startswith(f"| {rule.stage} | `{rule.name}`")
            ),
            "",
        )
        assert row, rule.name
        assert f"`{rule.signal} {rule.condition.op} " in row, rule.name
        assert f"{rule.weight:+g}" in row, rule.name
    for signal in SIGNALS:
        assert f"| `{signal}`" in signals, signal


def test_assess_many_computes_features_once_for_all_brands(monkeypatch: pytest.MonkeyPatch) -> None:
    """One pass over all accounts of the run (and one for the window before), not one per brand."""
    import analyser.classifier as classifier

    calls: list[int] = []
    real = classifier.compute_features

    def counting(snapshots: Any, **kw: Any) -> Any:
        calls.append(len(snapshots))
        return real(snapshots, **kw)

    monkeypatch.setattr(classifier, "compute_features", counting)
    brands = [
        (f"b{k}", [render_account(plan(T, f"acc{k}"), as_of=AS_OF, seed=k)]) for k in range(5)
    ]
    assess_many(brands, as_of=AS_OF)
    assert calls == [5, 5]
