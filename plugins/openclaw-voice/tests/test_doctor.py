"""`openclaw doctor` lists every speech provider with what its check found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_doctor_lists_each_speech_provider(openclaw_home: Path):
    config = {
        "agent": {"model": "mock/test"},
        "providers": {"whisper": {"type": "faster-whisper", "model_path": "/nonexistent/m"}},
    }
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": "voice"}
    done = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stdout.splitlines()
    assert "Traceback" not in done.stderr
    assert (
        "❌ stt whisper: Whisper model not found at /nonexistent/m/model.bin: "
        "check providers.whisper.model_path"
    ) in lines
    assert any(line.startswith("✅ stt faster-whisper: Whisper model ") for line in lines)
    assert any(line.startswith("✅ stt pocketsphinx: acoustic model ") for line in lines)
    assert "➖ stt whisper-cpp: whisper.cpp not found ('whisper-cli'): build whisper.cpp" in (
        done.stdout
    )
    piper = next(line for line in lines if line.startswith("✅ tts piper (in use): voice "))
    assert piper.endswith("en_US-joe-medium.onnx")
    assert any(line.startswith("✅ tts espeak-ng: ") for line in lines)
