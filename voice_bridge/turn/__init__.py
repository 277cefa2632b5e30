"""End of turn by meaning: the Smart Turn v3.2 model beside the VAD's silence (issue 21, item 2).

`files` finds and checks the model file (no numpy, no onnxruntime: importable without the voice
extra), `fetch` installs it from the pipecat-ai wheel, `features` and `model` run it, `taker`
decides per call when a pause ends the turn. docs/voice-latency.md, section 6, says how it behaves.
"""

from voice_bridge.turn.files import (
    INSTALL_COMMAND,
    SMART_TURN_SHA256,
    default_model_path,
    read_model,
)

__all__ = ["INSTALL_COMMAND", "SMART_TURN_SHA256", "default_model_path", "read_model"]
