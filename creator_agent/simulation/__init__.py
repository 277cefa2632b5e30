"""Simulations: scenarios derived from the SOP (and added by admins), run through the runtime's agent loop.

`derive` writes the scenarios, `run` holds the conversations and decides the assertions (`checks` in
code, `judge` with a model), and the pipeline's `simulate` stage gates deployment on the critical
ones (docs/creator.md, "Simulations").
"""

from creator_agent.simulation.derive import derive_scenarios, with_admin
from creator_agent.simulation.run import NEEDS_MODEL, RecordingModel, Simulator

__all__ = ["NEEDS_MODEL", "RecordingModel", "Simulator", "derive_scenarios", "with_admin"]
