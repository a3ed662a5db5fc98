"""The classifier's rules as data: loading, validating and firing them over all accounts at once."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from analyser.features import SIGNALS

__all__ = [
    "BRAND_SIGNALS",
    "Condition",
    "Rule",
    "RuleSet",
    "Scores",
    "StageSpec",
    "load_rules",
    "parse_rules",
    "score_accounts",
]

# Signals about a brand as a whole (across its accounts), usable by rules with scope = "brand".
BRAND_SIGNALS = ("accounts_found", "accounts_unreadable", "window_posts_total")
_OPS = (">=", ">", "<=", "<", "is")


@dataclass(frozen=True)
class Condition:
    signal: str
    op: str
    threshold: float | bool

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorised over accounts; an unknown value never satisfies a condition."""
        values = frame[self.signal]
        if self.op == "is":
            known = values.notna()
            return (known & (values.astype(object) == bool(self.threshold))).astype(bool)
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        threshold = float(self.threshold)
        result = {
            ">=": numbers >= threshold,
            ">": numbers > threshold,
            "<=": numbers <= threshold,
            "<": numbers < threshold,
        }[self.op]
        return (result & numbers.notna()).astype(bool)


@dataclass(frozen=True)
class Rule:
    """One threshold on one signal, counting `weight` towards `stage` when it holds."""

    name: str
    condition: Condition
    stage: int
    weight: float
    rationale: str
    seed: str
    also: tuple[Condition, ...] = ()
    scope: str = "account"

    @property
    def signal(self) -> str:
        return self.condition.signal

    def holds(self, frame: pd.DataFrame) -> pd.Series:
        mask = self.condition.holds(frame)
        for extra in self.also:
            mask &= extra.holds(frame)
        return mask


@dataclass(frozen=True)
class StageSpec:
    """A stage is reached at `bar`, with every rule in `requires` fired and none in `unless`."""

    bar: float
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """Rules, stage bars and advice, as loaded from the package data (rules.toml, advice.toml)."""

    rules: tuple[Rule, ...]
    stages: Mapping[int, StageSpec]
    min_window_posts: int
    regression_seed: str
    advice_next: Mapping[int, tuple[str, ...]]
    advice_when: tuple[tuple[str, str], ...]

    def by_name(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


def _condition(raw: Mapping[str, Any], where: str) -> Condition:
    op = str(raw["op"])
    if op not in _OPS:
        raise ValueError(f"{where}: unknown op {op!r}")
    threshold = raw["threshold"]
    if op == "is" and not isinstance(threshold, bool):
        raise ValueError(f"{where}: op 'is' needs a true/false threshold")
    return Condition(str(raw["signal"]), op, threshold)


def parse_rules(rules_doc: Mapping[str, Any], advice_doc: Mapping[str, Any]) -> RuleSet:
    """Validate the rule data: unknown signals, ops or stages are errors, not silent no-ops."""
    known = set(SIGNALS) | set(BRAND_SIGNALS)
    rules = []
    for raw in rules_doc.get("rule", []):
        name = str(raw["name"])
        cond = _condition(raw, name)
        also = tuple(_condition(a, name) for a in raw.get("also", []))
        for c in (cond, *also):
            if c.signal not in known:
                raise ValueError(f"rule {name}: unknown signal {c.signal!r}")
        stage = int(raw["stage"])
        if not 0 <= stage <= 7:
            raise ValueError(f"rule {name}: stage {stage} outside 0-7")
        rules.append(
            Rule(
                name=name,
                condition=cond,
                stage=stage,
                weight=float(raw["weight"]),
                rationale=str(raw["rationale"]),
                seed=str(raw["seed"]),
                also=also,
                scope=str(raw.get("scope", "account")),
            )
        )
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValueError("rule names must be unique")
    stages = {
        int(k): StageSpec(float(v["bar"]), tuple(v.get("requires", [])), tuple(v.get("unless", [])))
        for k, v in rules_doc.get("stages", {}).items()
    }
    for stage, spec in stages.items():
        for req in (*spec.requires, *spec.unless):
            if req not in names:
                raise ValueError(f"stage {stage} requires unknown rule {req!r}")
    settings = rules_doc.get("settings", {})
    advice_next = {int(k): tuple(v["text"]) for k, v in advice_doc.get("next", {}).items()}
    advice_when = tuple((str(w["rule"]), str(w["text"])) for w in advice_doc.get("when", []))
    for rule_name, _ in advice_when:
        if rule_name not in names:
            raise ValueError(f"advice refers to unknown rule {rule_name!r}")
    return RuleSet(
        rules=tuple(rules),
        stages=stages,
        min_window_posts=int(settings.get("min_window_posts", 12)),
        regression_seed=str(settings.get("regression_seed", "")),
        advice_next=advice_next,
        advice_when=advice_when,
    )


@cache
def load_rules() -> RuleSet:
    """The rules shipped in the package (analyser/data/rules.toml and advice.toml)."""
    data = resources.files("analyser").joinpath("data")
    rules_doc = tomllib.loads(data.joinpath("rules.toml").read_text("utf-8"))
    advice_doc = tomllib.loads(data.joinpath("advice.toml").read_text("utf-8"))
    return parse_rules(rules_doc, advice_doc)


@dataclass(frozen=True)
class Scores:
    """Learned-free scoring state for a frame of accounts: which rules fired, stage per row."""

    fired: pd.DataFrame  # bool, one column per rule
    score: pd.DataFrame  # float, one column per stage 1-7
    met: pd.DataFrame  # bool, one column per stage 1-7: bar reached and requirements fired
    stage: pd.Series  # float: highest met stage, NaN when none


def score_accounts(frame: pd.DataFrame, ruleset: RuleSet | None = None) -> Scores:
    """Fire every account-scope rule over every account at once and pick each one's stage.

    An account sits at the highest stage whose weights reach the stage's bar with its required
    rules fired: the stages are a ladder, and an account that collaborates also broadcasts.
    """
    ruleset = ruleset or load_rules()
    account_rules = [r for r in ruleset.rules if r.scope == "account"]
    fired = pd.DataFrame({r.name: r.holds(frame) for r in account_rules}, index=frame.index)
    stages = range(1, 8)
    score = pd.DataFrame(0.0, index=frame.index, columns=list(stages))
    for rule in account_rules:
        if rule.stage in score.columns:
            score[rule.stage] += fired[rule.name].astype(float) * rule.weight
    met = pd.DataFrame(False, index=frame.index, columns=list(stages))
    for s in stages:
        spec = ruleset.stages.get(s, StageSpec(1.0))
        ok = score[s] >= spec.bar - 1e-9
        for req in spec.requires:
            ok &= fired[req]
        for block in spec.unless:
            ok &= ~fired[block]
        met[s] = ok
    levels = np.where(met.to_numpy(), np.arange(1, 8), 0).max(axis=1) if len(met) else []
    stage = pd.Series(levels, index=frame.index, dtype="float64").replace(0.0, np.nan)
    return Scores(fired, score, met, stage)
