"""Measure the classifier on labelled brands: the demo set and seeded simulated sets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import click
import pandas as pd

from analyser.classifier import assess_many
from analyser.config import Settings, load_settings
from analyser.handles import Handle
from analyser.models import AccountSnapshot, BrandReport
from analyser.sim import generate

__all__ = [
    "Evaluation",
    "Labelled",
    "evaluate",
    "evaluate_command",
    "fetch_through_connectors",
    "render",
    "simulated_settings",
]

STAGES = list(range(8))
BATCH = 50  # brands per simulated API: well under the X user-lookup limit per window


@dataclass(frozen=True)
class Labelled:
    """A brand whose stage we know, with the handles to fetch and the snapshots behind them."""

    name: str
    label: int
    kind: str
    handles: tuple[Handle, ...]
    snapshots: tuple[AccountSnapshot, ...]


@dataclass(frozen=True)
class Evaluation:
    title: str
    brands: tuple[Labelled, ...]
    reports: tuple[BrandReport, ...]

    @property
    def accuracy(self) -> float:
        if not self.brands:
            return 0.0
        hits = sum(b.label == r.stage for b, r in zip(self.brands, self.reports, strict=True))
        return hits / len(self.brands)

    def confusion(self) -> pd.DataFrame:
        """Rows: the labelled stage; columns: the stage the classifier gave."""
        frame = pd.DataFrame(
            {
                "label": [b.label for b in self.brands],
                "predicted": [r.stage for r in self.reports],
            }
        )
        table = pd.crosstab(frame["label"], frame["predicted"])
        return table.reindex(index=STAGES, columns=STAGES, fill_value=0)

    def worst(self, k: int = 10) -> list[tuple[Labelled, BrandReport]]:
        """Misclassifications, furthest from the label first, then the most confident."""
        wrong = [
            (b, r) for b, r in zip(self.brands, self.reports, strict=True) if b.label != r.stage
        ]
        wrong.sort(key=lambda br: (-abs(br[0].label - br[1].stage), -br[1].confidence))
        return wrong[:k]


def simulated_settings(fixtures_dir: str | None = None) -> Settings:
    """Settings for talking to the simulated APIs: placeholder credentials, nothing secret."""
    overrides: dict[str, object] = {
        "twitter_bearer_token": "simulated-token",
        "youtube_api_key": "simulated-key",
        "facebook_access_token": "simulated-token",
    }
    if fixtures_dir is not None:
        overrides["fixtures_dir"] = fixtures_dir
    return load_settings(**overrides)


def fetch_through_connectors(
    handles: Sequence[Handle],
    truth: Sequence[AccountSnapshot],
    *,
    max_posts: int = 200,
) -> list[AccountSnapshot]:
    """Fetch `handles` with the real connectors from a simulated API serving `truth`.

    The same code path as a live run: FakeApi renders the snapshots as API responses, the
    connectors parse them back (Seam.handled_by, no sockets).
    """
    from analyser.pipeline import Runtime  # the CLI's wiring; imported late to keep imports light
    from connectors.base import RetryPolicy
    from connectors.fakeapi import FakeApi

    runtime = Runtime(
        simulated_settings(),
        mode="simulated",
        handler=FakeApi(truth),
        max_posts=max_posts,
        policy=RetryPolicy.no_wait(),
    )
    return [runtime.fetch(h) for h in handles]


def evaluate(
    title: str,
    brands: Sequence[Labelled],
    *,
    as_of: datetime,
    through_connectors: bool = True,
    max_posts: int = 200,
) -> Evaluation:
    """Assess labelled brands, through the connectors (default) or on the snapshots directly."""
    if through_connectors:
        rebuilt = []
        # The simulated X API enforces X's per-window limits (300 user lookups per 15 minutes),
        # so brands are fetched in batches, each from its own simulated API.
        for first in range(0, len(brands), BATCH):
            batch = brands[first : first + BATCH]
            handles = [h for b in batch for h in b.handles]
            truth = [s for b in batch for s in b.snapshots]
            fetched = fetch_through_connectors(handles, truth, max_posts=max_posts)
            start = 0
            for b in batch:
                snaps = tuple(fetched[start : start + len(b.handles)])
                start += len(b.handles)
                rebuilt.append(Labelled(b.name, b.label, b.kind, b.handles, snaps))
        brands = rebuilt
    reports = assess_many([(b.name, b.snapshots) for b in brands], as_of=as_of)
    return Evaluation(title, tuple(brands), tuple(reports))


def generated_set(n: int, *, seed: int, as_of: datetime) -> list[Labelled]:
    return [
        Labelled(b.name, b.label, b.archetype, b.handles, b.snapshots)
        for b in generate(n, seed=seed, as_of=as_of)
    ]


def demo_set() -> list[Labelled]:
    from analyser.demo import demo_brands, demo_snapshots

    truth = {(s.account.platform, s.account.handle.lower()): s for s in demo_snapshots()}
    return [
        Labelled(
            b.name,
            b.label,
            b.note,
            b.handles,
            tuple(truth[(h.platform, h.value.lower())] for h in b.handles),
        )
        for b in demo_brands()
    ]


def render(evaluation: Evaluation, *, worst: int = 10) -> list[str]:
    """Accuracy, the confusion matrix and the worst misclassifications, as text lines."""
    n = len(evaluation.brands)
    hits = round(evaluation.accuracy * n)
    lines = [f"{evaluation.title}: accuracy {evaluation.accuracy:.1%} ({hits}/{n})"]
    lines.append("confusion (rows: labelled stage, columns: classified stage)")
    table = evaluation.confusion()
    lines.append("      " + " ".join(f"{c:>4}" for c in table.columns))
    for label, row in table.iterrows():
        lines.append(f"  {label:>2}: " + " ".join(f"{int(v):>4}" for v in row))
    misses = evaluation.worst(worst)
    if misses:
        lines.append("worst misclassifications:")
        for brand, report in misses:
            top = next((e.rule for e in report.evidence if e.stage == report.stage), "-")
            lines.append(
                f"  {brand.name} [{brand.kind}]: labelled {brand.label}, classified "
                f"{report.stage} (confidence {report.confidence:.2f}, strongest rule {top})"
            )
    return lines


@click.command("evaluate")
@click.option("--n", "n", default=400, show_default=True, help="Simulated brands to generate.")
@click.option("--seed", default=2026, show_default=True, help="Seed of the simulated set.")
@click.option(
    "--direct",
    is_flag=True,
    help="Assess the simulated snapshots directly instead of through the connectors.",
)
@click.option("--worst", default=10, show_default=True, help="Misclassifications to list.")
def evaluate_command(n: int, seed: int, direct: bool, worst: int) -> None:
    """Accuracy and confusion matrix on the demo brands and on a seeded simulated set."""
    from analyser.demo import DEMO_AS_OF

    demo = evaluate("demo brands", demo_set(), as_of=DEMO_AS_OF)
    click.echo("\n".join(render(demo, worst=worst)))
    click.echo("")
    title = f"simulated brands (n={n}, seed={seed}{', direct' if direct else ''})"
    sim = evaluate(
        title,
        generated_set(n, seed=seed, as_of=DEMO_AS_OF),
        as_of=DEMO_AS_OF,
        through_connectors=not direct,
    )
    click.echo("\n".join(render(sim, worst=worst)))
