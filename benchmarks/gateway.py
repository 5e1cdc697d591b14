"""What the gateway's pipeline costs: messages per second and per-message latency with many users,
and the process's memory idle and loaded.

    python benchmarks/gateway.py                       # 100 users × 20 messages, about 10 s
    python benchmarks/gateway.py --users 10 --messages 5

The channel is in memory (it records sends and edits) and the model is the scripted mock with
zero latency, so the figures are the kernel's own path: access check, rate limit, debounce
(off), semaphore, the agent turn with its SQLite writes, the streaming reply and the metrics
sink. The Telegram path (aiogram, HTTP to a Bot API) adds its own cost on top; see the Telegram
plugin's benchmark for that. Each user sends its next message when the previous one is answered.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def rss_mib() -> float:
    """Resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemoryChannel:
    """A channel that keeps nothing but counts: the cheapest possible surface."""

    name = "bench"
    prefix = "bn"
    max_len = 4096
    max_caption_len = 1024
    state = "starting"

    def __init__(self, app: Any, settings: Any) -> None:
        self._stop = asyncio.Event()
        self._ids = itertools.count()
        self.sends = self.edits = 0

    async def run(self, gateway: Any) -> None:
        self.state = "running"
        await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()

    async def send_text(self, chat_id: str, text: str, **options: Any) -> str:
        self.sends += 1
        return str(next(self._ids))

    async def edit_text(self, chat_id: str, message_id: str, text: str, **options: Any) -> None:
        self.edits += 1

    async def send_typing(self, chat_id: str) -> None:
        pass

    async def send_file(self, *args: Any, **options: Any) -> None:
        pass

    async def send_voice(self, *args: Any, **options: Any) -> None:
        pass

    def format_markdown(self, text: str) -> str:
        return text


async def bench(users: int, messages: int, concurrency: int) -> dict[str, Any]:
    from openclaw import hookimpl
    from openclaw.app import App
    from openclaw.channels import ChannelType, InboundMessage
    from openclaw.config import load_config
    from openclaw.gateway import Gateway
    from openclaw.testing.mock_provider import MockModel

    class Plugin:
        @hookimpl
        def register_channels(self, register: Any) -> None:
            register(ChannelType("bench", create=MemoryChannel))

    config = {
        "agent": {"model": "mock/bench"},
        "channels": {"bench": {"enabled": True, "allowed_user_ids": list(range(users))}},
        "limits": {
            "debounce_ms": 0,
            "rate_per_minute": messages + 1,
            "max_concurrent_turns": concurrency,
        },
    }
    Path(os.environ["OPENCLAW_HOME"], "openclaw.json").write_text(json.dumps(config))
    model = MockModel(default="A short answer from a model with no latency at all.")
    app = App(load_config(), plugins=[model.plugin(), ("bench", Plugin())], entry_points=False)
    gateway = Gateway(app, port=0)
    running = asyncio.create_task(gateway.run())
    await gateway.ready.wait()
    channel = gateway.channels["bench"].channel
    idle = rss_mib()
    latencies: list[float] = []

    async def user(uid: int) -> None:
        for n in range(messages):
            message = InboundMessage("bn", str(uid), str(uid), f"message {n}")
            began = time.perf_counter()
            await gateway.deliver(channel, message)
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(user(uid) for uid in range(users)))
    elapsed = time.perf_counter() - began
    loaded = rss_mib()
    summary = gateway.metrics.summary()
    await gateway.stop()
    await running
    latencies.sort()
    return {
        "users": users,
        "messages": len(latencies),
        "max_concurrent_turns": concurrency,
        "messages_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "busy_rejected": summary["busy_rejected"],
        "rss_idle_mib": round(idle, 1),
        "rss_loaded_mib": round(loaded, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="Messages per user.")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="limits.max_concurrent_turns (default 100)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["OPENCLAW_HOME"] = home
        for name in ("OPENCLAW_MODEL", "OPENCLAW_CONFIG", "OPENCLAW_PLUGINS_DIR"):
            os.environ.pop(name, None)
        result = asyncio.run(bench(args.users, args.messages, args.concurrency))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
