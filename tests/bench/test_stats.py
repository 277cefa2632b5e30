"""bench.stats, the one percentile the benches print with, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from bench.stats import percentile, percentile_or_nan


def test_percentile_interpolates_like_numpy() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 50) == pytest.approx(2.5)
    # position 3 * 0.99 = 2.97 -> 3 + 0.97 * (4 - 3)
    assert percentile(samples, 99) == pytest.approx(3.97)
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile(samples, 101)


def test_percentile_or_nan_leaves_out_missing_figures() -> None:
    # A stage some turns never reached is NaN for them: the figure is over the turns that did.
    assert percentile_or_nan([math.nan, 1.0, math.nan, 3.0], 50) == pytest.approx(2.0)
    assert math.isnan(percentile_or_nan([], 50))
    assert math.isnan(percentile_or_nan([math.nan], 99))
