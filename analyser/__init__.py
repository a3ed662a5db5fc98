"""uptake: where a brand stands on the seven stages of social media uptake."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "analyse", "analyse_batch"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # `from analyser import analyse_batch` for notebooks, without importing pandas and the
    # connectors whenever any analyser module is imported.
    if name in ("analyse", "analyse_batch"):
        from analyser import api

        return getattr(api, name)
    raise AttributeError(f"module 'analyser' has no attribute {name!r}")
