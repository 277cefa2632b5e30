"""The voice bridge's settings (`ORATIO_VOICE_*`), read from the environment like the platform's own."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oratio.config import load_prefixed
from voice_bridge.monitor import MonitorLimits
from voice_bridge.protocol import CONTROL_MAX_BYTES, VoiceLimits
from voice_bridge.speech.ports import SttWindow
from voice_bridge.turn.taker import SmartTurnPolicy
from voice_bridge.twilio_stream import PhoneLimits

STRETCH_DEFAULT_S = 3.0
"""Stretches are committed at pauses once this much audio has come since the last (docs/voice-latency.md,
section 10: shorter questions keep the single pass)."""
STRETCH_MIN_S = 1.0


class SpeechChoice(StrEnum):
    CASCADE = "cascade"
    NOVA_SONIC = "nova-sonic"
    SCRIPTED = "scripted"


class VoiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORATIO_VOICE_", frozen=True, extra="ignore")

    backend: SpeechChoice = Field(default=SpeechChoice.CASCADE, description="cascade, nova-sonic or scripted")
    nova_sonic_model: str = Field(default="amazon.nova-2-5-sonic", max_length=200)
    nova_sonic_voice: str = Field(default="matthew", max_length=64)
    frame_max_bytes: int = Field(default=VoiceLimits.frame_max_bytes, ge=320, le=1_000_000)
    start_timeout_seconds: float = Field(default=VoiceLimits.start_timeout_s, gt=0, le=300)
    idle_timeout_seconds: float = Field(default=VoiceLimits.idle_timeout_s, gt=0, le=3600)
    silence_timeout_seconds: float = Field(default=VoiceLimits.silence_timeout_s, gt=0, le=3600)
    utterance_max_seconds: float = Field(default=VoiceLimits.utterance_max_s, ge=1, le=300)
    call_max_seconds: float = Field(default=VoiceLimits.call_max_s, ge=10, le=4 * 3600)
    audio_burst_seconds: float = Field(default=VoiceLimits.burst_s, ge=0.1, le=60)
    recording_max_bytes: int = Field(default=VoiceLimits.recording_max_bytes, ge=64_000, le=4 * 1024**3)
    listen_queue_frames: int = Field(default=MonitorLimits.queue_frames, ge=10, le=10_000)
    listeners_max: int = Field(default=MonitorLimits.listeners_max, ge=1, le=100)
    stt_window: SttWindow = Field(
        default=SttWindow.TRIMMED, description="Whisper's encoder window: trimmed (10 s floor) or full (30 s)"
    )
    speculate: bool = Field(default=True, description="transcribe at the first short pause, reuse it at turn end")
    speculate_pause_seconds: float = Field(default=0.2, ge=0.05, le=5)
    stt_stretch_seconds: float = Field(
        default=STRETCH_DEFAULT_S,
        ge=0,
        le=60,
        description="0 turns stretches off; else, with speculate on, a pause that closes at least this much audio "
        "since the last committed boundary commits its transcript as the utterance's prefix, and the end of the "
        "turn transcribes only the rest. At least 1 s: Whisper needs some context for a piece",
    )
    stt_stretch_prompt: bool = Field(
        default=False,
        description="give the committed stretches' text to Whisper as the prompt of what follows. Off by default: "
        "it did not lower the word error rate measurably, and a prompted decode now and then repeats itself "
        "(caught and decoded again, at the cost of a second decode)",
    )
    preempt: bool = Field(
        default=False,
        description="draft the reply and synthesise its first sentence at the speculation pause, play it if the "
        "turn is confirmed with the same words (needs speculate). Off by default, as LiveKit's preemptive "
        "generation is: a draft is one more model call a turn (and one per mid-sentence pause), and a sampling "
        "model seldom says the same first sentence twice, so it pays most for deterministic agents",
    )
    text_signal_seconds: float | None = Field(
        default=None,
        gt=0,
        lt=0.6,
        description="off by default: when the speculative transcript ends a sentence, end the turn after this much "
        "silence instead of the 0.6 s hangover (which stays the ceiling); must be longer than the speculation pause",
    )
    smart_turn_model: Path | None = Field(
        default=None, description="The Smart Turn v3.2 ONNX file; default ~/.cache/oratio/models (fetch installs it)"
    )
    smart_turn_threshold: float = Field(
        default=SmartTurnPolicy.threshold, ge=0, le=1, description="End-of-turn probability that ends a turn at a pause"
    )
    smart_turn_ceiling_seconds: float = Field(
        default=SmartTurnPolicy.ceiling_s, ge=0.3, le=10, description="Silence that ends a smart_turn turn regardless"
    )
    smart_turn_workers: int = Field(default=2, ge=1, le=64, description="Smart Turn runs at once, across calls")
    websocket_compression: bool = Field(
        default=False,
        description="permessage-deflate on voice sockets: off, since PCM audio hardly compresses and deflating "
        "every 50 ms chunk cost the bridge ~10% of its loop under load; on for links where bytes cost more than CPU",
    )
    greeting_cache_entries: int = Field(default=256, ge=0, le=100_000)
    """Synthesised greetings kept per process (one per agent version and voice; 0 turns the cache off)."""
    phone_ticket_seconds: float = Field(default=60.0, ge=5, le=600)
    """How long the stream ticket a Twilio webhook answer carries stays valid (it is also single use)."""
    phone_calls_per_minute: float = Field(default=60.0, gt=0, le=100_000)
    """Incoming-call webhooks answered per agent per minute (after a burst of `phone_calls_burst`); then 429."""
    phone_calls_burst: int = Field(default=20, ge=1, le=100_000)
    phone_calls_max: int = Field(default=100, ge=1, le=100_000)
    """Phone calls this process serves at once; the webhook answers busy (TwiML <Reject>) beyond it."""
    phone_media_max_bytes: int = Field(default=8_000, ge=160, le=64_000)
    """Largest mu-law payload of one Twilio `media` message (8000 bytes is 1 s; Twilio sends 160, 20 ms)."""

    @model_validator(mode="after")
    def _stretches_long_enough(self) -> VoiceSettings:
        stretch = self.stt_stretch_seconds
        if 0 < stretch < STRETCH_MIN_S:
            raise ValueError(
                f"ORATIO_VOICE_STT_STRETCH_SECONDS ({stretch:g}) must be 0 (off) or at least {STRETCH_MIN_S:g}: "
                "Whisper mishears pieces shorter than that"
            )
        return self

    def stretch_s(self) -> float | None:
        """The stretch length the cascade commits at, or None: off (0), or no speculation to take it from."""
        return self.stt_stretch_seconds if self.speculate and self.stt_stretch_seconds > 0 else None

    @model_validator(mode="after")
    def _text_signal_after_the_pause(self) -> VoiceSettings:
        signal = self.text_signal_seconds
        if signal is not None and (not self.speculate or signal <= self.speculate_pause_seconds):
            raise ValueError(
                f"ORATIO_VOICE_TEXT_SIGNAL_SECONDS ({signal:g}) needs ORATIO_VOICE_SPECULATE on and must be longer "
                f"than ORATIO_VOICE_SPECULATE_PAUSE_SECONDS ({self.speculate_pause_seconds:g}): the signal is the "
                "transcript of that pause"
            )
        return self

    def phone_limits(self) -> PhoneLimits:
        return PhoneLimits(
            ticket_s=self.phone_ticket_seconds,
            calls_per_minute=self.phone_calls_per_minute,
            calls_burst=self.phone_calls_burst,
            calls_max=self.phone_calls_max,
            media_max_bytes=self.phone_media_max_bytes,
        )

    def smart_turn_policy(self) -> SmartTurnPolicy:
        """End of turn for agents set to smart_turn: asked at the speculation pause (0.2 s by default)."""
        return SmartTurnPolicy(
            threshold=self.smart_turn_threshold,
            ceiling_s=self.smart_turn_ceiling_seconds,
            pause_s=min(self.speculate_pause_seconds, self.smart_turn_ceiling_seconds / 2),
        )

    def monitor_limits(self) -> MonitorLimits:
        """Listen-in: frames queued per listener before it is dropped, listeners per call."""
        return MonitorLimits(queue_frames=self.listen_queue_frames, listeners_max=self.listeners_max)

    def limits(self) -> VoiceLimits:
        return VoiceLimits(
            frame_max_bytes=self.frame_max_bytes,
            start_timeout_s=self.start_timeout_seconds,
            idle_timeout_s=self.idle_timeout_seconds,
            silence_timeout_s=self.silence_timeout_seconds,
            utterance_max_s=self.utterance_max_seconds,
            call_max_s=self.call_max_seconds,
            burst_s=self.audio_burst_seconds,
            recording_max_bytes=self.recording_max_bytes,
        )

    def websocket_message_limit(self) -> int:
        """The largest WebSocket message the server layer buffers (uvicorn's default is 16 MiB a message):
        far past the bridge's own frame limit; up to 4x that limit the bridge itself says why (1009)."""
        return 4 * max(self.frame_max_bytes, CONTROL_MAX_BYTES)


def load_voice_settings(env: dict[str, str] | None = None) -> VoiceSettings:
    return load_prefixed(VoiceSettings, "ORATIO_VOICE_", env, "voice configuration")
