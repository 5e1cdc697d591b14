"""An idle `openclaw gateway` without chat channels holds none of the libraries only a channel,
another provider or speech-to-text needs: checked on `sys.modules` of the real process, with every
installed plugin loaded."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from openclaw.testing.gateway_process import MODULE_LISTING_CLI

# the configured model's SDK (openai here) is imported at start, on purpose; anthropic is not
NOT_AT_IDLE = {
    "aiogram",
    "disnake",
    "numpy",
    "anthropic",
    "openclaw_channel_telegram.channel",
    "openclaw_channel_discord.channel",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return True
    except OSError:
        return False


def test_an_idle_gateway_without_channels_imports_no_channel_sdk_nor_numpy(openclaw_home: Path):
    (openclaw_home / "openclaw.json").write_text(json.dumps({"agent": {"model": "openai/x"}}))
    modules_file = openclaw_home / "modules.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENCLAW_")}
    env.update(OPENCLAW_HOME=str(openclaw_home), OPENCLAW_MODULES_FILE=str(modules_file))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", MODULE_LISTING_CLI, "gateway", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            assert process.poll() is None and time.monotonic() < deadline, "gateway never ready"
            time.sleep(0.1)
        process.send_signal(signal.SIGUSR1)
        while not modules_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        modules = set(json.loads(modules_file.read_text()))
    finally:
        process.terminate()
        process.wait(timeout=30)
    # the check is real: every installed plugin and the store are there
    assert {"openclaw_channel_telegram.plugin", "openclaw_voice.plugin", "sqlite_utils"} <= modules
    present = {name for name in modules if name in NOT_AT_IDLE or name.split(".")[0] in NOT_AT_IDLE}
    assert not present
