"""What an `openclaw gateway` holds at idle and what its first message imports, checked on
`sys.modules` of the real process with every installed plugin loaded: a gateway without chat
channels holds none of the libraries only a channel, a model SDK or speech-to-text needs; one
with Telegram has the store and the model's SDK in before the first message, which then imports
no third-party module at all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openclaw.testing.gateway_process import MODULE_LISTING_CLI
from openclaw.testing.servers import FakeOpenAIServer

# A gateway without a chat channel has no user waiting on its first answer: its model's SDK
# (openai here) comes with its first cron turn. trio (httpcore2's other event loop) and rich
# (structlog's coloured tracebacks) are never needed.
NOT_AT_IDLE = {
    "aiogram",
    "disnake",
    "numpy",
    "anthropic",
    "openai",
    "httpx2",
    "trio",
    "rich",
    "pygments",
    "openclaw_channel_telegram.channel",
    "openclaw_channel_discord.channel",
}
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


class ListedGateway:
    """`openclaw gateway` in a subprocess that lists its modules on demand."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.modules_file = home / "modules.json"
        self.port = free_port()
        full_env = {
            key: value for key, value in os.environ.items() if not key.startswith("OPENCLAW_")
        }
        full_env.update(env, OPENCLAW_HOME=str(home), OPENCLAW_MODULES_FILE=str(self.modules_file))
        self.process = subprocess.Popen(
            [sys.executable, "-c", MODULE_LISTING_CLI, "gateway", "--port", str(self.port)],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_until(self, ready: Any, what: str, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, "the gateway exited"
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    def channel_running(self, channel: str) -> bool:
        answer = status(self.port)
        return answer is not None and answer["channels"][channel]["state"] == "running"

    def modules(self) -> list[str]:
        """The modules it has imported, in import order."""
        self.modules_file.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        self.wait_until(self.modules_file.exists, "no module listing", 10)
        time.sleep(0.2)  # let the write finish
        return json.loads(self.modules_file.read_text())


@contextmanager
def listed_gateway(home: Path, config: dict[str, Any], **env: str) -> Iterator[ListedGateway]:
    (home / "openclaw.json").write_text(json.dumps(config))
    gateway = ListedGateway(home, env)
    try:
        yield gateway
    finally:
        gateway.process.terminate()
        gateway.process.wait(timeout=30)


def test_an_idle_gateway_without_channels_imports_no_channel_nor_model_sdk(openclaw_home):
    with listed_gateway(openclaw_home, {"agent": {"model": "openai/x"}}) as gateway:
        gateway.wait_until(lambda: status(gateway.port) is not None, "gateway never ready")
        # what start-up warms in the background (the log sink's structlog) is in
        gateway.wait_until(lambda: "structlog" in gateway.modules(), "nothing warmed", 30)
        modules = set(gateway.modules())
    # the check is real: every installed plugin and the store are there
    assert {"openclaw_channel_telegram.plugin", "openclaw_voice.plugin", "sqlite_utils"} <= modules
    present = {name for name in modules if name in NOT_AT_IDLE or name.split(".")[0] in NOT_AT_IDLE}
    assert not present


def test_the_first_message_imports_no_third_party_module(openclaw_home):
    from openclaw_channel_telegram.testing import FakeBotAPI

    with FakeBotAPI() as api, FakeOpenAIServer() as model:
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": model.base_url}},
            "channels": {"telegram": api.channel_settings()},
            "limits": {"debounce_ms": 0},
        }
        with listed_gateway(openclaw_home, config, OPENAI_API_KEY="sk-test") as gateway:
            gateway.wait_until(lambda: gateway.channel_running("telegram"), "telegram not running")
            # the store (migrated at start: sqlite-utils), the SDK and the log sink's structlog
            # are in before any message: nobody's first message pays for them
            gateway.wait_until(lambda: "structlog" in gateway.modules(), "nothing warmed", 30)
            idle = gateway.modules()
            assert {"sqlite_utils", "openai", "anyio._backends._asyncio"} <= set(idle)
            api.user_sends(42, text="hello")
            gateway.wait_until(lambda: any("round(s)" in t for t in api.texts(42)), "no reply", 30)
            after = gateway.modules()
    new = [name for name in after if name not in set(idle)]
    third_party = [
        name
        for name in new
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith(("openclaw", "_"))
    ]
    assert not third_party
    assert "rich" not in after and "trio" not in after
