"""The speech backends directly: work stays off the event loop, and whisper.cpp explains what
it lacks (no whisper.cpp build or ggml model is available offline, so only that is tested)."""

from __future__ import annotations

import asyncio
import time

import openclaw_voice.plugin as voice_plugin
import pytest

from openclaw.speech import SpeechUnavailable, pick


@pytest.mark.parametrize("name", ["faster-whisper", "pocketsphinx"])
async def test_recognition_runs_off_the_event_loop(openclaw_make_app, weather_voice_note, name):
    """The event loop never stalls for long while a (loaded) model works: the gateway keeps
    answering other chats meanwhile."""
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.005)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    async with openclaw_make_app(plugins=[voice_plugin]) as app:
        stt = await pick(app.models, "stt", name)
        await stt.transcribe(weather_voice_note, "audio/ogg")  # loads the model once
        ticker = asyncio.create_task(tick())
        began = time.monotonic()
        heard = await stt.transcribe(weather_voice_note, "audio/ogg")
        elapsed = time.monotonic() - began
        ticker.cancel()
    assert "weather" in heard.lower()
    # had the model held the loop, the longest stall would be the whole recognition
    assert max(gaps) < elapsed / 3, (elapsed, max(gaps))


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            {"binary": "/nonexistent/whisper-cli"},
            "whisper.cpp not found ('/nonexistent/whisper-cli'): build whisper.cpp and set "
            "providers.wc.binary to its whisper-cli",
        ),
        ({"binary": "sh"}, "no model: set providers.wc.model_path to a ggml model file"),
        (
            {"binary": "sh", "model_path": "/nonexistent/ggml.bin"},
            "ggml model not found at /nonexistent/ggml.bin: check providers.wc.model_path",
        ),
    ],
)
async def test_whisper_cpp_says_what_it_lacks(openclaw_make_app, settings, problem):
    config = {"providers": {"wc": {"type": "whisper-cpp", **settings}}}
    async with openclaw_make_app(config=config, plugins=[voice_plugin]) as app:
        with pytest.raises(SpeechUnavailable) as raised:
            await pick(app.models, "stt")
    assert str(raised.value) == f"no speech-to-text provider is usable (wc: {problem})"


async def test_binaries_do_not_get_the_gateways_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg and espeak-ng run with PATH and the locale only: a token in the gateway's
    environment is not in theirs (where `/proc/PID/environ` would show it)."""
    from openclaw_voice.audio import run_binary

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:planted-secret-value")
    monkeypatch.setenv("LANG", "C.UTF-8")
    shown = await run_binary(["/usr/bin/env"], timeout=10)
    assert "planted-secret-value" not in shown
    assert "LANG=C.UTF-8" in shown
