"""The labelled evaluation: accuracy held on a large generated set, and the connector path."""

from __future__ import annotations

from click.testing import CliRunner

from analyser.demo import DEMO_AS_OF
from analyser.evaluate import evaluate, evaluate_command, generated_set, render
from tests.conftest import FAKE_SECRETS

GENERATED_N = 400
GENERATED_SEED = 2026


def test_generated_set_of_400_is_at_least_90_percent() -> None:
    """Direct snapshot path (fast); the connector path is checked on a subset below."""
    brands = generated_set(GENERATED_N, seed=GENERATED_SEED, as_of=DEMO_AS_OF)
    result = evaluate("generated", brands, as_of=DEMO_AS_OF, through_connectors=False)
    assert len(result.brands) == GENERATED_N
    assert result.accuracy >= 0.90, "\n".join(render(result))
    confusion = result.confusion()
    assert int(confusion.to_numpy().sum()) == GENERATED_N
    assert list(confusion.index) == list(range(8)) == list(confusion.columns)


def test_connector_path_gives_the_same_stages_as_the_truth() -> None:
    """Fetched through FakeApi and the real connectors, brands classify as their snapshots do."""
    brands = generated_set(48, seed=GENERATED_SEED + 1, as_of=DEMO_AS_OF)
    direct = evaluate("direct", brands, as_of=DEMO_AS_OF, through_connectors=False)
    fetched = evaluate("connectors", brands, as_of=DEMO_AS_OF, through_connectors=True)
    assert [r.stage for r in fetched.reports] == [r.stage for r in direct.reports]
    assert fetched.accuracy >= 0.90
    # The connector path really went over HTTP-shaped traffic: requests were counted.
    assert sum(r.coverage.requests for r in fetched.reports) > len(brands)
    assert sum(r.coverage.requests for r in direct.reports) == 0


def test_render_lists_accuracy_confusion_and_worst() -> None:
    brands = generated_set(16, seed=1, as_of=DEMO_AS_OF)
    wrong = [b.__class__(b.name, (b.label + 3) % 8, b.kind, b.handles, b.snapshots) for b in brands]
    result = evaluate("mislabelled", wrong, as_of=DEMO_AS_OF, through_connectors=False)
    lines = render(result, worst=3)
    assert lines[0].startswith("mislabelled: accuracy")
    assert "worst misclassifications:" in lines
    assert len(lines) == 1 + 1 + 1 + 8 + 1 + 3
    worst = result.worst(3)
    assert all(b.label != r.stage for b, r in worst)


def test_evaluate_command_prints_both_sets() -> None:
    result = CliRunner().invoke(evaluate_command, ["--n", "16", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "demo brands: accuracy 100.0%" in result.output
    assert "simulated brands (n=16, seed=3): accuracy" in result.output
    assert "confusion (rows: labelled stage, columns: classified stage)" in result.output
    assert not any(secret in result.output for secret in FAKE_SECRETS)
