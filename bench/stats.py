"""The one percentile every benchmark prints its figures with.

Linear between closest ranks (numpy's default), q from 0 to 100: with a handful of samples p99 lies
between the two largest rather than jumping to the largest, and every bench's p50/p95/p99 means the
same thing (they used to carry their own copies: nearest rank with q as a fraction, nearest rank
with q in percent, `statistics.quantiles`' exclusive method).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of `samples`, linear between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentile_or_nan(samples: Sequence[float], q: float) -> float:
    """`percentile` of the samples that are numbers, or NaN when none are.

    For a report's lines where a figure may be missing (a stage no turn reached, a run where every
    request failed): the line prints `nan` and the report goes on.
    """
    present = [s for s in samples if not math.isnan(s)]
    return percentile(present, q) if present else math.nan


__all__ = ["percentile", "percentile_or_nan"]
