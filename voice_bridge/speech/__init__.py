"""Speech parts of the local cascade: voice activity detection, speech-to-text, text-to-speech."""

from voice_bridge.speech.ports import LocalSpeech, SpeechToText, TextToSpeech, VoiceActivityDetector

__all__ = ["LocalSpeech", "SpeechToText", "TextToSpeech", "VoiceActivityDetector"]
