"""Post-call analysis: the rules that analyse a finished session offline (`rules`) and its outcome."""

from oratio.analysis.outcome import decide_outcome
from oratio.analysis.rules import ANALYSIS_TURNS_MAX, analyse

__all__ = ["ANALYSIS_TURNS_MAX", "analyse", "decide_outcome"]
