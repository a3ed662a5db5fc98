"""The seeded simulator: reproducible, varied, platform-shaped, and honest about what it labels."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from analyser.features import WORD_LISTS, campaign_name, normalise_text, words_pattern
from analyser.models import AccountStatus, Platform, PostKind
from analyser.sim import ARCHETYPES, BANKS, generate, make_brand, unique_handles

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def test_same_seed_same_brands_other_seed_other_brands() -> None:
    one = generate(16, seed=5, as_of=AS_OF)
    two = generate(16, seed=5, as_of=AS_OF)
    other = generate(16, seed=6, as_of=AS_OF)
    assert [b.snapshots for b in one] == [b.snapshots for b in two]
    assert [b.name for b in one] != [b.name for b in other]


def test_labels_are_spread_evenly_and_handles_unique() -> None:
    brands = generate(80, seed=3, as_of=AS_OF)
    assert Counter(b.label for b in brands) == dict.fromkeys(range(8), 10)
    assert unique_handles(brands)
    assert all(b.name.endswith("(synthetic)") for b in brands)


def test_every_archetype_can_be_built() -> None:
    for stage, options in ARCHETYPES.items():
        for name, _, _ in options:
            brand = make_brand(stage, 11, as_of=AS_OF, archetype=name)
            assert brand.label == stage and brand.archetype == name
            assert len(brand.snapshots) == len(brand.plans) == len(brand.handles) >= 1


def test_snapshots_are_shaped_like_each_platform() -> None:
    brands = generate(48, seed=9, as_of=AS_OF)
    for brand in brands:
        for snap in brand.snapshots:
            acc = snap.account
            if acc.status is not AccountStatus.FOUND:
                assert not snap.posts
                continue
            assert all(p.created_at <= AS_OF for p in snap.posts)
            if acc.platform is Platform.TWITTER:
                assert all(p.id.isdigit() for p in snap.posts)
                assert not snap.thread_samples
            else:
                # Only X shows the account's replies and reposts as posts.
                assert all(p.kind is PostKind.ORIGINAL for p in snap.posts)
                assert acc.following is None
            if acc.platform is Platform.YOUTUBE:
                assert all(p.views is not None and p.title for p in snap.posts)
                assert len(snap.thread_samples) <= 10
            if acc.platform is Platform.FACEBOOK:
                assert all(p.views is None for p in snap.posts)
                assert all(t.threads_answered is None for t in snap.thread_samples)


def test_neutral_and_reply_texts_carry_no_stage_language() -> None:
    """Noise must come from the mix of banks, not from words hidden in the neutral texts."""
    for bank in ("neutral", "reply"):
        for text in BANKS[bank]:
            for list_name in WORD_LISTS.values():
                assert not words_pattern(list_name).search(normalise_text(text)), (text, list_name)


def test_only_campaign_accounts_have_campaign_names() -> None:
    for brand in generate(80, seed=4, as_of=AS_OF):
        for plan in brand.plans:
            named = campaign_name(
                plan.handle, None, created_year=None, long_lived_and_active=True
            ).named
            is_campaign = plan.created_days_ago < 800 and plan.eras and len(plan.eras) == 1
            deleted_campaign = plan.status is AccountStatus.NOT_FOUND and brand.label == 5
            if named:
                assert is_campaign or deleted_campaign, plan.handle


def test_campaign_brands_have_a_campaign_named_account() -> None:
    for brand in generate(80, seed=4, as_of=AS_OF):
        if brand.label != 5:
            continue
        assert any(
            campaign_name(p.handle, None, created_year=None, long_lived_and_active=False).named
            for p in brand.plans
        ), brand.name
