"""The `tts` tool through a real agent turn: a WAV file in the workspace, voices, speakers,
speed, pronunciation hints, and errors the model can read."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest
from openclaw_voice.speak import spoken_form

from openclaw.config import ConfigError
from openclaw.speech import pick


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as reader:
        assert reader.getnchannels() == 1 and reader.getsampwidth() == 2
        return reader.getnframes() / reader.getframerate()


@pytest.mark.parametrize("voice", [None, "espeak-ng"])
async def test_tts_writes_a_wav_file_in_the_workspace(openclaw_call_tools, workspace, voice):
    arguments = {"text": "Hello from the workspace."} | ({"voice": voice} if voice else {})
    [result] = await openclaw_call_tools(("tts", arguments))
    assert not result.is_error, result.content
    path = result.content.split(" (")[0]
    assert path.startswith("speech/tts-") and path.endswith(".wav")
    assert wav_seconds(workspace / path) > 0.8
    assert f"voice {voice or 'piper'}" in result.content


async def test_speed_changes_the_length(openclaw_call_tools, workspace):
    slow, fast = await openclaw_call_tools(
        ("tts", {"text": "one two three four five six", "voice": "espeak-ng", "speed": 0.5}),
        ("tts", {"text": "one two three four five six", "voice": "espeak-ng", "speed": 2.0}),
    )
    slow_seconds = wav_seconds(workspace / slow.content.split(" (")[0])
    fast_seconds = wav_seconds(workspace / fast.content.split(" (")[0])
    assert slow_seconds > 2.5 * fast_seconds


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"text": "hi", "speaker": 3}, "speaker 3 does not exist: this voice has 1 speaker(s)"),
        ({"text": "hi", "voice": "espeak-ng", "speaker": 1}, "espeak-ng voices have no numbered"),
        ({"text": "hi", "voice": "klingon"}, "unknown provider 'klingon'"),
        ({"text": "hi", "speed": 9}, "less than or equal to 4"),
        ({"text": "** `` **"}, "there is nothing to say in this text"),
    ],
)
async def test_bad_arguments_are_error_results(openclaw_call_tools, workspace, arguments, error):
    [result] = await openclaw_call_tools(("tts", arguments))
    assert result.is_error and error in result.content, result.content
    assert not list((workspace / "speech").glob("*.wav"))


async def test_a_missing_piper_voice_is_an_error_result(openclaw_call_tools):
    config = {"providers": {"piper": {"model_path": "/nonexistent/x.onnx"}}}
    [result] = await openclaw_call_tools(("tts", {"text": "hi", "voice": "piper"}), config=config)
    assert result.is_error
    assert "Piper voice not found at /nonexistent/x.onnx: check providers.piper.model_path" in (
        result.content
    )


def test_spoken_form_drops_markdown_and_applies_hints():
    hints = {"OpenClaw": "open claw", "nginx": "engine x", "open": "OPEN"}
    text = "**OpenClaw** runs [nginx](https://nginx.org) and `openclaw`; reopen it."
    assert spoken_form(text, hints) == "open claw runs engine x and open claw; reopen it."
    assert spoken_form("a \\1 b", {"a": "\\1"}) == "\\1 \\1 b"


def test_spoken_form_keeps_underscores_and_stars_inside_words():
    # emphasis marks go; the same characters inside a word or a sum are part of the text
    text = "**Run** _make_ in snake_case_dir: it prints 2*3 = 6, *fast*."
    assert spoken_form(text, {}) == "Run make in snake_case_dir: it prints 2*3 = 6, fast."


def test_an_empty_hint_is_refused_when_the_app_is_built(openclaw_make_app):
    """The plugin claims `voice`, so the kernel validates it with the plugin's model."""
    with pytest.raises(ConfigError, match=r"voice\.pronunciations: Value error, a word to pro"):
        openclaw_make_app(config={"voice": {"pronunciations": {" ": "x"}}}, entry_points=True)


async def test_pronunciation_hints_reach_the_voice(
    openclaw_call_tools, workspace, openclaw_make_app
):
    """The hinted word is said as its spoken form: Whisper hears "weather", not the word."""
    config = {"voice": {"pronunciations": {"zorblax": "weather"}}}
    [result] = await openclaw_call_tools(("tts", {"text": "Zorblax."}), config=config)
    audio = (workspace / result.content.split(" (")[0]).read_bytes()
    async with openclaw_make_app(config=config, entry_points=True) as app:
        stt = await pick(app.models, "stt", "faster-whisper")
        assert "weather" in (await stt.transcribe(audio, "audio/wav")).lower()


def test_spoken_form_drops_emoji_which_voices_read_out_by_name():
    # espeak-ng's phonemizer (Piper's too) says "white heavy check mark" for ✅
    assert spoken_form("Done! ✅ Sunny, 24°C ☀️ 👍🏽 👨‍👩‍👧", {}) == "Done! Sunny, 24°C"
    assert spoken_form("🎉🎉", {}) == ""


async def test_emoji_alone_are_nothing_to_say(openclaw_call_tools, workspace):
    [result] = await openclaw_call_tools(("tts", {"text": "🎉 👍"}))
    assert result.is_error and "there is nothing to say in this text" in result.content
    assert not (workspace / "speech").exists() or list((workspace / "speech").iterdir()) == []


async def test_a_timed_out_piper_leaves_no_file_in_the_workspace(openclaw_call_tools, workspace):
    # Piper cannot be interrupted: its thread finishes after the error; its WAV must not land
    text = "The tide comes in twice a day along this coast, and the harbour empties. " * 4
    config = {"providers": {"piper": {"timeout": 0.05}}}
    [result] = await openclaw_call_tools(("tts", {"text": text}), config=config)
    assert result.is_error and "Piper took longer than 0.05 s" in result.content
    speech = workspace / "speech"
    for _ in range(40):  # the thread finishes within a few seconds
        await asyncio.sleep(0.1)
        assert not speech.exists() or list(speech.iterdir()) == []


async def test_a_symlinked_speech_folder_is_refused(openclaw_call_tools, workspace, openclaw_home):
    """`speech` swapped for a link to $OPENCLAW_HOME: the WAV is not written through it."""
    workspace.mkdir()
    (workspace / "speech").symlink_to(openclaw_home)
    before = sorted(p.name for p in openclaw_home.iterdir())
    [result] = await openclaw_call_tools(("tts", {"text": "hello", "voice": "espeak-ng"}))
    assert result.is_error and "blocked by sandbox rule 'symlink'" in result.content
    assert not [p for p in openclaw_home.iterdir() if p.suffix == ".wav"], before
