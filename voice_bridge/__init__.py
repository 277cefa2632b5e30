"""WebSocket voice bridge: Nova Sonic or the local speech cascade in front of the deployed agent (issue 7).

`create_voice_app(platform)` is the bridge (`oratio serve` mounts it at /voice); a `SpeechBackend` turns
one call's audio into the deployed agent's turns and back (`CascadeBackend`, `NovaSonicBackend` in
`voice_bridge.nova_sonic`, `scripted_backend`). The wire protocol is docs/voice.md (`voice_bridge.protocol`).
"""

from voice_bridge.app import create_standalone_app, create_voice_app
from voice_bridge.backend import Call, SpeechBackend, VoiceSink
from voice_bridge.cascade import CascadeBackend
from voice_bridge.protocol import Close, VoiceLimits
from voice_bridge.scripted import scripted_backend
from voice_bridge.settings import VoiceSettings

__all__ = [
    "Call",
    "CascadeBackend",
    "Close",
    "SpeechBackend",
    "VoiceLimits",
    "VoiceSettings",
    "VoiceSink",
    "create_standalone_app",
    "create_voice_app",
    "scripted_backend",
]
