"""Platform connectors: one module per platform, all returning analyser.models.AccountSnapshot.

Each platform module exposes a connector class (`platform`, `fetch`, `planned_cost`) and
`build(settings, seam, *, policy, gate)`, which wires the class to its HTTP stack, and
`planned_cost(max_posts, settings) -> Cost`.
"""

from __future__ import annotations

import importlib
from typing import cast

from analyser.config import Settings
from analyser.models import Platform
from connectors.base import Connector, Cost, Gate, RetryPolicy
from connectors.replay import Seam

__all__ = ["CONNECTORS", "default_policy", "make_connector", "planned_cost"]

# The explicit registry: adding a platform is one module and one line here.
CONNECTORS: dict[Platform, str] = {
    Platform.TWITTER: "connectors.twitter",
    Platform.YOUTUBE: "connectors.youtube",
    Platform.FACEBOOK: "connectors.facebook",
}


def default_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.max_retries + 1,
        max_rate_limit_wait_s=settings.max_rate_limit_wait_s,
    )


def make_connector(
    platform: Platform,
    settings: Settings,
    seam: Seam,
    *,
    policy: RetryPolicy | None = None,
    gate: Gate | None = None,
) -> Connector:
    """A ready connector for `platform` over `seam` (live, recording, replay or simulated)."""
    module = importlib.import_module(CONNECTORS[platform])
    connector = module.build(settings, seam, policy=policy or default_policy(settings), gate=gate)
    return cast(Connector, connector)


def planned_cost(platform: Platform, max_posts: int, settings: Settings) -> Cost:
    """Upper bound of what one account costs, without fetching (for --plan and --quota-budget)."""
    module = importlib.import_module(CONNECTORS[platform])
    cost: Cost = module.planned_cost(max_posts, settings)
    return cost
