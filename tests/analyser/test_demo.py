"""The demo brands: every stage and hard case, recorded fixtures in step with the truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyser.classifier import assess, assess_many
from analyser.config import REPO_FIXTURES
from analyser.demo import DEMO_AS_OF, build_fixtures, demo_brands, demo_snapshots
from analyser.evaluate import demo_set, evaluate, simulated_settings
from analyser.models import AccountSnapshot, AccountStatus
from connectors import make_connector
from connectors.base import RetryPolicy
from connectors.replay import Cassette, Seam, cassette_path

HARD_CASES = (
    "founding year",
    "regressed",
    "tiny business",
    "viral",
    "deleted",
    "five posts",
)


def test_every_stage_and_hard_case_has_a_demo_brand() -> None:
    brands = demo_brands()
    assert {b.label for b in brands} == set(range(8))
    notes = " ".join(b.note for b in brands)
    for case in HARD_CASES:
        assert case in notes, case
    for brand in brands:
        assert "(synthetic)" in brand.name
        assert len({h.platform for h in brand.handles}) >= 2, brand.name


def test_demo_truth_classifies_at_the_labels() -> None:
    truth = {(s.account.platform, s.account.handle): s for s in demo_snapshots()}
    pairs = [(b.name, [truth[(h.platform, h.value)] for h in b.handles]) for b in demo_brands()]
    reports = assess_many(pairs, as_of=DEMO_AS_OF)
    assert [r.stage for r in reports] == [b.label for b in demo_brands()]
    by_name = {r.brand: r for r in reports}
    assert by_name["Corvid Telecom (synthetic)"].regressed_from is not None
    assert by_name["Ashgrove Dental (synthetic)"].insufficient_evidence
    assert any("not_found" in n for n in by_name["Sunmeadow Cereals (synthetic)"].notes)


def test_demo_set_through_the_connectors_is_100_percent() -> None:
    result = evaluate("demo", demo_set(), as_of=DEMO_AS_OF)
    assert result.accuracy == 1.0


def _replay(fixtures: Path) -> list[tuple[str, list[AccountSnapshot]]]:
    settings = simulated_settings(str(fixtures))
    pairs = []
    for brand in demo_brands():
        snaps = []
        for handle in brand.handles:
            path = cassette_path(fixtures, handle.platform.value, handle.value)
            seam = Seam.replaying(Cassette.load(path))
            connector = make_connector(
                handle.platform, settings, seam, policy=RetryPolicy.no_wait()
            )
            snaps.append(connector.fetch(handle, max_posts=200))
        pairs.append((brand.name, snaps))
    return pairs


@pytest.mark.skipif(not REPO_FIXTURES.is_dir(), reason="fixtures/ not present")
def test_committed_fixtures_replay_offline_at_the_labels() -> None:
    """What `uptake demo` sees: every demo account replayed from fixtures/ with no network."""
    pairs = _replay(REPO_FIXTURES)
    for (name, snaps), brand in zip(pairs, demo_brands(), strict=True):
        report = assess(name, snaps, as_of=DEMO_AS_OF)
        assert report.stage == brand.label, name
    truth = {(s.account.platform, s.account.handle): s for s in demo_snapshots()}
    for _, snaps in pairs:
        for snap in snaps:
            expected = truth[(snap.account.platform, snap.account.handle)]
            assert snap.account.status == expected.account.status
            assert {p.id for p in snap.posts} == {p.id for p in expected.posts}


def test_build_fixtures_records_every_account_without_secrets(tmp_path: Path) -> None:
    build_fixtures(tmp_path)
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == sum(len(b.handles) for b in demo_brands())
    committed = sorted(p.relative_to(REPO_FIXTURES) for p in REPO_FIXTURES.rglob("*.json"))
    assert [p.relative_to(tmp_path) for p in files] == committed
    text = "\n".join(p.read_text("utf-8") for p in files)
    assert "simulated-token" not in text and "simulated-key" not in text
    pairs = _replay(tmp_path)
    statuses = [s.account.status for _, snaps in pairs for s in snaps]
    assert AccountStatus.NOT_FOUND in statuses and AccountStatus.FOUND in statuses
