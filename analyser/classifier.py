"""From signals to a stage of social media uptake, with the evidence and advice that justify it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd

from analyser.features import EXAMPLE_COLUMNS, SIGNALS, compute_features
from analyser.models import (
    STAGE_NAMES,
    AccountResult,
    AccountSnapshot,
    AccountStatus,
    BrandReport,
    Coverage,
    Evidence,
    Platform,
    SignalValue,
)
from analyser.rules import (
    BRAND_SIGNALS,
    Condition,
    Rule,
    RuleSet,
    StageSpec,
    load_rules,
    parse_rules,
    score_accounts,
)

__all__ = [
    "BRAND_SIGNALS",
    "Condition",
    "Rule",
    "RuleSet",
    "StageSpec",
    "assess",
    "assess_many",
    "explain",
    "load_rules",
    "parse_rules",
    "score_accounts",
]


def assess(
    brand: str,
    snapshots: Sequence[AccountSnapshot],
    *,
    as_of: datetime,
    window_days: int = 365,
) -> BrandReport:
    """The stage of one organisation across all its accounts and platforms.

    >>> from datetime import UTC
    >>> assess("Nobody", [], as_of=datetime(2026, 11, 1, tzinfo=UTC)).stage
    0
    """
    return assess_many([(brand, snapshots)], as_of=as_of, window_days=window_days)[0]


def assess_many(
    brands: Sequence[tuple[str, Sequence[AccountSnapshot]]],
    *,
    as_of: datetime,
    window_days: int = 365,
) -> list[BrandReport]:
    """Assess many brands with the features computed once, over all their accounts together."""
    ruleset = load_rules()
    flat: list[AccountSnapshot] = []
    owner: list[int] = []
    for b, (_, snaps) in enumerate(brands):
        flat.extend(snaps)
        owner.extend([b] * len(snaps))
    owners = pd.Series(owner, dtype="int64")
    now = compute_features(flat, as_of=as_of, window_days=window_days)
    past = compute_features(
        flat, as_of=as_of - timedelta(days=window_days), window_days=window_days
    )
    scores = score_accounts(now, ruleset)
    past_scores = score_accounts(past, ruleset)

    # Brand-wide signals and brand-scope rules, one row per brand.
    found = (now["status"] == AccountStatus.FOUND.value).astype(int)
    unreadable = (now["status"] == AccountStatus.ERROR.value).astype(int)
    brand_index = pd.RangeIndex(len(brands))
    brand_frame = pd.DataFrame(
        {
            "accounts_found": found.groupby(owners).sum(),
            "accounts_unreadable": unreadable.groupby(owners).sum(),
            "window_posts_total": now["posts_window"].fillna(0).groupby(owners).sum(),
        }
    ).reindex(brand_index, fill_value=0)
    brand_rules = [r for r in ruleset.rules if r.scope == "brand"]
    brand_fired = {r.name: r.holds(brand_frame).to_numpy() for r in brand_rules}
    # The stage each brand showed in the window before this one (for regression).
    was_active = (past["status"] == AccountStatus.FOUND.value) & (past["posts_window"] > 0)
    past_stage = past_scores.stage.where(was_active).groupby(owners).max().reindex(brand_index)

    rows = now.to_dict("records")
    fired = scores.fired.to_numpy()
    score = scores.score.to_numpy()
    stage_of = scores.stage.to_numpy()
    rule_cols = {name: k for k, name in enumerate(scores.fired.columns)}
    table = _Table(rows, fired, score, stage_of, rule_cols)
    reports = []
    start = 0
    for b, (name, snaps) in enumerate(brands):
        span = range(start, start + len(snaps))
        start += len(snaps)
        brand_evidence = [
            _brand_evidence(rule, brand_frame.iloc[b])
            for rule in brand_rules
            if bool(brand_fired[rule.name][b])
        ]
        reports.append(
            _brand_report(
                name,
                list(snaps),
                span,
                table,
                brand_evidence,
                int(brand_frame["window_posts_total"].iloc[b]),
                _num(past_stage.iloc[b]),
                ruleset,
                as_of=as_of,
                window_days=window_days,
            )
        )
    return reports


@dataclass(frozen=True)
class _Table:
    """The scored accounts of a run as plain Python rows and numpy arrays (fast per-brand reads)."""

    rows: list[dict[Any, Any]]
    fired: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]  # columns: stages 1-7
    stage: np.ndarray[Any, Any]
    rule_col: dict[str, int]

    def fired_rule(self, i: int, rule: str) -> bool:
        return bool(self.fired[i, self.rule_col[rule]])

    def stage_score(self, i: int, stage: int) -> float:
        return float(self.score[i, stage - 1]) if 1 <= stage <= 7 else 0.0


def _brand_evidence(rule: Rule, row: pd.Series) -> Evidence:
    return Evidence(
        signal=rule.signal,
        value=_value(row[rule.signal]),
        rule=rule.name,
        stage=rule.stage,
        weight=rule.weight,
        rationale=f"{rule.rationale} Seed: “{rule.seed}”",
    )


def _value(raw: object) -> SignalValue:
    """A JSON-friendly signal value: NaN becomes None, floats are rounded for reading."""
    if raw is None:
        return None
    if isinstance(raw, bool | np.bool_):
        return bool(raw)
    if isinstance(raw, int | np.integer):
        return int(raw)
    if isinstance(raw, float | np.floating):
        if math.isnan(raw):
            return None
        value = float(raw)
        return int(value) if value.is_integer() and abs(value) < 1e15 else round(value, 4)
    if isinstance(raw, str):
        return raw
    return None


def _num(raw: object) -> float:
    """A pandas scalar as a float (NaN for missing)."""
    return float(cast(float, raw)) if raw is not None else math.nan


def _examples(row: Mapping[Any, Any], signal: str) -> tuple[str, ...]:
    column = EXAMPLE_COLUMNS.get(signal)
    refs = row.get(column) if column is not None else None
    return tuple(str(r) for r in refs) if isinstance(refs, tuple) else ()


def _account_evidence(i: int, table: _Table, ruleset: RuleSet) -> list[Evidence]:
    """Fired rules of this account, leaving out stages whose required rules did not fire."""
    row = table.rows[i]
    out = []
    for rule in ruleset.rules:
        if rule.scope != "account" or not table.fired_rule(i, rule.name):
            continue
        spec = ruleset.stages.get(rule.stage, StageSpec(1.0))
        if any(not table.fired_rule(i, req) for req in spec.requires):
            continue
        if rule.weight > 0 and any(table.fired_rule(i, block) for block in spec.unless):
            continue
        if rule.weight < 0 and table.stage_score(i, rule.stage) <= 0:
            continue
        out.append(
            Evidence(
                signal=rule.signal,
                value=_value(row[rule.signal]),
                rule=rule.name,
                stage=rule.stage,
                weight=rule.weight,
                platform=Platform(row["platform"]),
                handle=str(row["handle"]),
                rationale=f"{rule.rationale} Seed: “{rule.seed}”",
                examples=_examples(row, rule.signal),
            )
        )
    return out


def _brand_report(
    brand: str,
    snaps: list[AccountSnapshot],
    span: range,
    table: _Table,
    brand_evidence: list[Evidence],
    window_posts: int,
    past_stage: float,
    ruleset: RuleSet,
    *,
    as_of: datetime,
    window_days: int,
) -> BrandReport:
    results: list[AccountResult] = []
    evidence: list[Evidence] = list(brand_evidence)
    notes: list[str] = []
    candidates: list[tuple[int, float]] = [(e.stage, e.weight) for e in brand_evidence]
    active_platforms: set[str] = set()
    fired_rules: set[str] = {e.rule for e in brand_evidence}
    for snap, i in zip(snaps, span, strict=True):
        row = table.rows[i]
        status = AccountStatus(row["status"])
        stage_f = float(table.stage[i])
        stage = None if math.isnan(stage_f) else int(stage_f)
        acc_evidence = _account_evidence(i, table, ruleset)
        fired_rules.update(e.rule for e in acc_evidence)
        if stage is not None:
            candidates.append((stage, table.stage_score(i, stage)))
        shown_stage = stage if status in (AccountStatus.FOUND, AccountStatus.PROTECTED) else None
        if status is AccountStatus.FOUND and (row["posts_window"] or 0) > 0:
            active_platforms.add(str(row["platform"]))
        notes.extend(_account_notes(snap, row, status))
        evidence.extend(acc_evidence)
        results.append(
            AccountResult(
                platform=snap.account.platform,
                handle=snap.account.handle,
                status=status,
                status_detail=snap.account.status_detail,
                display_name=snap.account.display_name,
                url=snap.account.url,
                stage=shown_stage,
                stage_name=STAGE_NAMES[shown_stage] if shown_stage is not None else None,
                signals={s: _value(row.get(s)) for s in SIGNALS},
                evidence=tuple(acc_evidence),
                requests=snap.requests,
                quota_units=snap.quota_units,
                post_reads=snap.post_reads,
            )
        )

    stage, top_score = max(candidates) if candidates else (0, 0.0)
    regressed_from = None
    if stage >= 3 and not math.isnan(past_stage) and int(past_stage) > stage:
        regressed_from = int(past_stage)
        evidence.append(
            Evidence(
                signal="past_stage",
                value=regressed_from,
                rule="regressed",
                stage=stage,
                weight=0.0,
                rationale=(
                    f"The {window_days} days before the window showed stage {regressed_from}; "
                    f"the recent window shows stage {stage}. Seed: “{ruleset.regression_seed}”"
                ),
            )
        )
        notes.append(
            f"regressed: stage {regressed_from} in the previous {window_days} days, "
            f"stage {stage} now"
        )

    single_platform = len(active_platforms) <= 1
    insufficient = window_posts < ruleset.min_window_posts or (
        single_platform and stage >= 3 and window_posts < 2 * ruleset.min_window_posts
    )
    stage_range: tuple[int, int] | None = None
    if stage <= 2:
        insufficient = True
        stage_range = (0, 2)
    elif insufficient:
        stage_range = (max(0, stage - 1), min(7, stage + 2))
    confidence = _confidence(
        stage, top_score, ruleset, window_posts, active_platforms, insufficient
    )

    order = {r.name: k for k, r in enumerate(ruleset.rules)}
    evidence.sort(
        key=lambda e: (-e.stage, -e.weight, order.get(e.rule, -1), e.platform or "", e.handle or "")
    )
    advice = list(ruleset.advice_next.get(stage, ()))
    for rule_name, text in ruleset.advice_when:
        if rule_name in fired_rules and text not in advice:
            advice.append(text)
    return BrandReport(
        brand=brand,
        as_of=as_of,
        stage=stage,
        stage_name=STAGE_NAMES[stage],
        confidence=confidence,
        insufficient_evidence=insufficient,
        stage_range=stage_range,
        regressed_from=regressed_from,
        platforms=tuple(results),
        evidence=tuple(evidence),
        advice=tuple(advice),
        coverage=_coverage(snaps, as_of),
        notes=tuple(dict.fromkeys(notes)),
    )


def _confidence(
    stage: int,
    score: float,
    ruleset: RuleSet,
    window_posts: int,
    platforms: set[str],
    insufficient: bool,
) -> float:
    """More posts, a clearer margin over the stage's bar and more platforms: more confidence.

    Stages 0-2 are inferred from absence, so they never claim more than 0.45.
    """
    if stage <= 2:
        return 0.45 if stage > 0 else 0.35
    amount = min(1.0, math.log1p(window_posts) / math.log1p(60))
    bar = ruleset.stages.get(stage, StageSpec(1.0)).bar
    strength = min(1.0, score / (1.5 * bar)) if bar > 0 else 1.0
    breadth = 1.0 if len(platforms) >= 2 else 0.5
    value = 0.2 + 0.45 * amount + 0.2 * strength + 0.1 * breadth
    if insufficient:
        value = min(value, 0.4)
    return round(min(0.95, max(0.05, value)), 2)


def _account_notes(
    snap: AccountSnapshot, row: Mapping[Any, Any], status: AccountStatus
) -> list[str]:
    where = f"{snap.account.platform.value}:{snap.account.handle}"
    notes = []
    if status in (AccountStatus.NOT_FOUND, AccountStatus.SUSPENDED):
        campaign = bool(row.get("missing_campaign_named"))
        tail = " (a campaign-named account: deleted after the campaign?)" if campaign else ""
        notes.append(f"{where} {status.value}{tail}")
    elif status is AccountStatus.PROTECTED:
        notes.append(f"{where} is protected: its posts are not public")
    elif status is AccountStatus.ERROR:
        detail = f": {snap.account.status_detail}" if snap.account.status_detail else ""
        notes.append(f"{where} could not be read{detail}")
    elif bool(row.get("abandoned_after_burst")):
        notes.append(f"{where} went silent after a short burst of activity")
    notes.extend(f"{where}: {n}" for n in snap.notes)
    return notes


def _coverage(snaps: Sequence[AccountSnapshot], as_of: datetime) -> Coverage:
    dates = [p.created_at for s in snaps for p in s.posts if p.created_at <= as_of]
    return Coverage(
        accounts=len(snaps),
        posts_analysed=len(dates),
        date_from=min(dates) if dates else None,
        date_to=max(dates) if dates else None,
        requests=sum(s.requests for s in snaps),
        quota_units=sum(s.quota_units for s in snaps),
        post_reads=sum(s.post_reads for s in snaps),
    )


def _fmt(value: SignalValue) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "unknown" if value is None else str(value)


def explain(report: BrandReport) -> list[str]:
    """Human lines: the verdict, every rule that fired with its values, and example posts."""
    head = f"{report.brand}: stage {report.stage} ({report.stage_name}), "
    head += f"confidence {report.confidence:.2f}"
    if report.insufficient_evidence and report.stage_range is not None:
        low, high = report.stage_range
        head += f"; insufficient evidence: stages {low}-{high} are possible"
    if report.regressed_from is not None:
        head += f"; regressed from stage {report.regressed_from}"
    lines = [head]
    for acc in report.platforms:
        stage = f"stage {acc.stage}" if acc.stage is not None else "no stage"
        lines.append(f"  {acc.platform.value}:{acc.handle} [{acc.status.value}] {stage}")
    lines.append("Rules that fired:")
    if not report.evidence:
        lines.append("  (none)")
    for ev in report.evidence:
        where = f" on {ev.platform.value}:{ev.handle}" if ev.platform and ev.handle else ""
        sign = "+" if ev.weight >= 0 else ""
        lines.append(
            f"  stage {ev.stage} {sign}{ev.weight:g} {ev.rule}: {ev.signal} = {_fmt(ev.value)}"
            f"{where}. {ev.rationale}"
        )
        if ev.examples:
            lines.append(f"    e.g. {', '.join(ev.examples)}")
    if report.advice:
        lines.append("Next steps:")
        lines.extend(f"  - {a}" for a in report.advice)
    if report.notes:
        lines.append("Notes:")
        lines.extend(f"  - {n}" for n in report.notes)
    return lines
