"""Percentiles and summaries for samples measured in nanoseconds or milliseconds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``fraction`` of the samples at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float], *, scale: float = 1.0, digits: int = 3) -> dict[str, float | int]:
    """Median, p90, p99, min and max of ``samples`` divided by ``scale`` (e.g. 1e3 for ns -> µs)."""
    return {
        "n": len(samples),
        "p50": round(statistics.median(samples) / scale, digits),
        "p90": round(percentile(samples, 0.90) / scale, digits),
        "p99": round(percentile(samples, 0.99) / scale, digits),
        "min": round(min(samples) / scale, digits),
        "max": round(max(samples) / scale, digits),
    }
