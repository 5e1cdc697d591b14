"""Real-time factor of every speech backend usable on this machine: processing seconds per second
of audio (below 1 is faster than real time), through the plugin's providers as the gateway uses
them.

    python benchmarks/voice.py            # about a minute on 2 cores
    python benchmarks/voice.py --runs 1   # quicker

Text-to-speech speaks a paragraph of about 15 s into a WAV file. Speech-to-text hears the same
paragraph, spoken by Piper and encoded as an OGG/Opus voice note (64 kbit/s, voip), so its time
includes ffmpeg's decoding to 16 kHz mono as in the gateway; "words" is the share of the
paragraph's words found in the transcription. "first" is the first call, which loads the model
(once per process); the RTF is the median of the later calls. Backends that are not usable
here (whisper.cpp without a configured binary and model, say) are listed with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PARAGRAPH = (
    "Good morning. Today will be mostly sunny with a light breeze from the west, and the "
    "temperature will reach twenty four degrees in the afternoon. In the evening clouds "
    "will gather, and there is a chance of rain after midnight. Remember to take an umbrella "
    "if you go out late, and enjoy the weather while it lasts."
)
TTS = ("piper", "espeak-ng")
STT = ("faster-whisper", "pocketsphinx", "whisper-cpp")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def word_share(heard: str) -> float:
    """The share of the paragraph's words (numbers spelt out) that were heard."""
    said, got = words(PARAGRAPH), set(words(heard))
    return sum(word in got for word in said) / len(said)


async def timed(call: Any, runs: int) -> tuple[float, float, Any]:
    """The first call's seconds, the median of `runs` more, and the last result."""
    began = time.perf_counter()
    result = await call()
    first = time.perf_counter() - began
    later = []
    for _ in range(runs):
        began = time.perf_counter()
        result = await call()
        later.append(time.perf_counter() - began)
    return first, statistics.median(later), result


async def main(runs: int) -> None:
    import openclaw_voice.plugin as voice_plugin
    from openclaw_voice.audio import duration, ogg_opus

    from openclaw.app import App
    from openclaw.config import load_config
    from openclaw.speech import SpeechUnavailable, pick, pick_tts

    rows: list[tuple[str, str, float, float, float, str]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        os.environ["OPENCLAW_HOME"] = home
        app = App(load_config(), plugins=[voice_plugin], entry_points=False)
        folder = Path(home)
        for name in TTS:
            try:
                provider = await pick_tts(app, name)
            except SpeechUnavailable as exc:
                skipped.append(f"tts {exc}")
                continue
            wav = folder / f"{name}.wav"
            first, median, _ = await timed(
                lambda p=provider, w=wav: p.synthesize(PARAGRAPH, w), runs
            )
            seconds = duration(wav)
            rows.append(("tts", name, seconds, first, median, ""))
        voice_note = await ogg_opus(folder / "piper.wav", "ffmpeg", 60)
        for name in STT:
            try:
                stt = await pick(app, "stt", name)
            except SpeechUnavailable as exc:
                skipped.append(f"stt {exc}")
                continue
            first, median, heard = await timed(
                lambda s=stt: s.transcribe(voice_note, "audio/ogg"), runs
            )
            seconds = duration(folder / "piper.wav")
            rows.append(("stt", name, seconds, first, median, f"{word_share(heard):.0%}"))
    print(
        f"{'kind':<5}{'backend':<16}{'audio s':>9}{'first s':>9}{'median s':>10}{'RTF':>8}"
        f"{'words':>7}"
    )
    for kind, name, seconds, first, median, share in rows:
        print(
            f"{kind:<5}{name:<16}{seconds:>9.2f}{first:>9.2f}{median:>10.2f}"
            f"{median / seconds:>8.3f}{share:>7}"
        )
    for line in skipped:
        print(f"not usable: {line}")
    print(f"({os.cpu_count()} CPU(s); RTF = median processing seconds / audio seconds)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed calls after the first")
    asyncio.run(main(parser.parse_args().runs))
