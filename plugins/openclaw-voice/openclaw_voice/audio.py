"""Audio plumbing around ffmpeg: any incoming audio to a 16 kHz mono WAV for speech-to-text,
and a WAV to OGG/Opus for voice messages. Files live in temporary directories that are removed
when done, whatever happens."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import wave
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from openclaw.sandbox.processes import BASE_ENV, run_process

SAMPLE_RATE = 16_000
OPUS_ARGS = ("-c:a", "libopus", "-b:a", "64k", "-vbr", "on", "-application", "voip")
ERROR_LINES = 3  # lines of ffmpeg's own error shown to the user
OUTPUT_LIMIT = 1024 * 1024  # bytes kept of each output stream (a transcript, error lines)


class AudioError(Exception):
    """A binary is missing, or it failed on this audio; the message says which and why."""


def find_binary(name: str, what: str, hint: str) -> str:
    """The program `name` (a name on the PATH or a path), or AudioError with `hint`."""
    found = shutil.which(name)
    if found is None:
        raise AudioError(f"{what} not found ({name!r}): {hint}")
    return found


def find_ffmpeg(name: str, setting: str) -> str:
    return find_binary(
        name, "ffmpeg", f"install it (Debian: apt install ffmpeg) or set {setting} to its path"
    )


def binary_env() -> dict[str, str]:
    """ffmpeg and espeak-ng get the locale and PATH, never the gateway's secrets: a sandboxed
    command could otherwise read them from `/proc/PID/environ` while the binary runs."""
    return {name: os.environ[name] for name in BASE_ENV if name in os.environ}


async def run_binary(argv: Sequence[str], timeout: float, *, stdin: bytes | None = None) -> str:
    """Run a program to its end with the kernel's `run_process` (its process group is killed
    at the timeout or when the caller is cancelled); its stdout. AudioError when it does not
    start, fails or outlives `timeout`."""
    name = Path(argv[0]).name
    try:
        result = await run_process(
            argv,
            cwd=Path.cwd(),
            env=binary_env(),
            stdin=stdin,
            timeout=timeout,
            output_limit=OUTPUT_LIMIT,
            isolation="none",
        )
    except OSError as exc:
        raise AudioError(f"{name} could not be started: {exc.strerror or exc}") from None
    if result.timed_out:
        raise AudioError(f"{name} took longer than {timeout:g} s and was stopped")
    if result.exit_code != 0:
        lines = result.stderr.strip().splitlines()[-ERROR_LINES:]
        raise AudioError(f"{name} failed: {' / '.join(lines) or f'exit code {result.exit_code}'}")
    return result.stdout


async def ffmpeg(binary: str, args: Sequence[str], timeout: float) -> None:
    """Run ffmpeg quietly, never asking questions (it would wait on stdin)."""
    await run_binary(
        [binary, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], timeout
    )


@contextlib.asynccontextmanager
async def wav16k(
    audio: bytes, ffmpeg_binary: str, timeout: float, max_seconds: float
) -> AsyncIterator[Path]:
    """The audio (any format ffmpeg reads) as a 16 kHz mono 16-bit WAV file, for the time of
    the `async with` block. Decoding stops a little past `max_seconds`: a longer WAV means
    the audio was longer than that."""
    with tempfile.TemporaryDirectory(prefix="openclaw-voice-") as directory:
        source, target = Path(directory) / "in", Path(directory) / "in.wav"
        source.write_bytes(audio)
        args = ["-i", str(source), "-t", f"{max_seconds + 1:g}", "-ar", str(SAMPLE_RATE)]
        args += ["-ac", "1", "-c:a", "pcm_s16le"]
        await ffmpeg(ffmpeg_binary, [*args, str(target)], timeout)
        yield target


async def ogg_opus(wav: Path, ffmpeg_binary: str, timeout: float) -> bytes:
    """A WAV file encoded as OGG/Opus (64 kbit/s, VBR, tuned for speech) as voice messages
    are."""
    with tempfile.TemporaryDirectory(prefix="openclaw-voice-") as directory:
        target = Path(directory) / "voice.ogg"
        await ffmpeg(ffmpeg_binary, ["-i", str(wav), *OPUS_ARGS, str(target)], timeout)
        return target.read_bytes()


def pcm_frames(wav: Path) -> bytes:
    """The 16-bit samples of a mono WAV file."""
    with wave.open(str(wav), "rb") as reader:
        return reader.readframes(reader.getnframes())


def duration(wav: Path) -> float:
    """Seconds of audio in a WAV file."""
    with wave.open(str(wav), "rb") as reader:
        return reader.getnframes() / reader.getframerate()
