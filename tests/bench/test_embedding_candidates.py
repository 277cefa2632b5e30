"""bench/embedding.py --candidates: names are checked before anything loads, and a candidate's rows are unit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.embedding import main
from bench.embedding_candidates import _Candidate, candidates


def test_an_unknown_candidate_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="known: .*wordllama"):
        candidates(["wordllama", "no-such-model"])


def test_the_bench_exits_with_a_usage_error_on_an_unknown_candidate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--quick", "--candidates", "no-such-model"])
    assert exited.value.code == 2
    assert "no-such-model" in capsys.readouterr().err


def test_a_candidate_loads_once_and_returns_normalised_rows_in_order() -> None:
    loads: list[int] = []

    def make() -> Any:
        loads.append(1)
        return lambda texts: [[float(len(t)), 1.0] for t in texts]

    model = _Candidate("toy", 2, make)
    rows = model.embed_array(["a", "abc"])
    assert model.embed([]) == []
    model.embed(["ab"])
    assert loads == [1]
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    assert rows[1][0] > rows[0][0]  # the longer text's row, in its place
