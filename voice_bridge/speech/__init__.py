"""Speech parts of the local cascade: voice activity detection, speech-to-text, text-to-speech.

`load_local_speech()` loads the offline engines (needs `pip install 'oratio[voice]'`); the engine
modules (`silero`, `whisper`, `piper`, `espeak`) import their optional packages and are not imported here.
"""

from voice_bridge.speech.local import TtsChoice, load_local_speech
from voice_bridge.speech.ports import LocalSpeech, SpeechToText, TextToSpeech, VoiceActivityDetector

__all__ = ["LocalSpeech", "SpeechToText", "TextToSpeech", "TtsChoice", "VoiceActivityDetector", "load_local_speech"]
