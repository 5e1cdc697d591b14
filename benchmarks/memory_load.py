"""Memory of `openclaw gateway` under load: the peak with 100 users at once, and whether it
stays flat over 10,000 messages.

    python benchmarks/memory_load.py                        # 100 users, 10,000 messages
    python benchmarks/memory_load.py --messages 2000 --every 500   # a quicker look
    python benchmarks/memory_load.py --output mem-load.json

The gateway of `load.py` (this checkout's `python -m openclaw.cli gateway`, Telegram and the
built-in tools, every message streamed by `FakeOpenAIServer` and answered through
`TimedBotAPI`, both in this process on 127.0.0.1). Before it starts, the real store gives each
user's session `--prefill` earlier turns (default: enough to fill the 12,000-token history
budget, so every request carries a full history from the first message on). After it idles
(`load.py`'s settle), its VmRSS is the idle figure; then `--users` users send closed loop (the
next message when the previous is answered) until `--messages` are answered. VmRSS is sampled
every 50 ms for the peak, and at every `--every` answered messages for the curve; `flat` is the
spread (max - min) of that curve from the first sample on (the first `--every` messages warm
the caches: pydantic's generic models, the SDK's connection pool, SQLite's page cache;
benchmarks/README.md says what the curve holds after them). Targets: peak <= idle + 40 MiB,
flat <= 10 MiB (+-5). Every message must be answered with its full text and footer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load import (  # noqa: E402  (a sibling script, not a package)
    ANSWER,
    ROOT,
    Contestant,
    answer,
    complete,
    contestant_env,
    gateway_config,
    idle_rss,
    timed_message,
)
from telegram_path import TimedBotAPI, proc_status  # noqa: E402

from openclaw.testing.servers import FakeOpenAIServer  # noqa: E402

FIRST_USER = 10_000
PEAK_TARGET_MIB = 40.0
FLAT_TARGET_MIB = 10.0  # +-5
PREFILL_TURNS = 120
"""A turn of this load is about 107 tokens of history (the user's line and the ~360-character
reply), so 120 turns fill the default 12,000-token budget."""
SAMPLE_EVERY = 0.05
"""Seconds between two VmRSS samples for the peak."""


def prefill(home: str, user_ids: list[int], turns: int) -> None:
    """Give each user's session `turns` earlier turns of the load's own sizes (the user's line
    and `answer`'s reply), written by the real store before the gateway starts."""
    from openclaw_channel_telegram.channel import TelegramChannel

    from openclaw.channels import InboundMessage
    from openclaw.messages import Message
    from openclaw.store import SqliteStore

    with SqliteStore(Path(home, "sessions.db")) as store:
        for uid in user_ids:
            # the key the gateway gives a private chat's message (the chat id is the user's)
            key = InboundMessage(TelegramChannel.prefix, str(uid), str(uid)).session_key("main")
            for n in range(turns):
                text = f"message {-n} from user {uid}"
                store.append(key, Message("user", text))
                store.append(key, Message("assistant", f"echo: {text}. {ANSWER}"), model="m/x")


async def run(
    users: int,
    messages: int,
    every: int,
    timeout: float,
    history_tokens: int | None,
    prefill_turns: int = 0,
) -> dict[str, Any]:
    contestant = Contestant(
        "ours",
        [sys.executable, "-m", "openclaw.cli", "gateway", "--port", "0"],
        re.compile(r"openclaw gateway on http://"),
    )
    user_ids = list(range(FIRST_USER, FIRST_USER + users))
    with (
        tempfile.TemporaryDirectory() as home,
        TimedBotAPI() as api,
        FakeOpenAIServer(default=answer) as model,
    ):
        gateway_config(home, api, model, user_ids)
        if history_tokens is not None:
            path = Path(home, "openclaw.json")
            config = json.loads(path.read_text())
            config["agent"]["history_tokens"] = history_tokens
            path.write_text(json.dumps(config))
        prefill(home, user_ids, prefill_turns)
        log_path = Path(home, "gateway.log")
        with log_path.open("w") as log:
            process = subprocess.Popen(
                contestant.argv,
                env=contestant_env(contestant, home, api.token),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            result = await asyncio.wait_for(
                drive(process, api, log_path, user_ids, messages, every, contestant), timeout
            )
            return {"prefill_turns": prefill_turns, **result}
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def drive(
    process: subprocess.Popen[bytes],
    api: TimedBotAPI,
    log_path: Path,
    user_ids: list[int],
    messages: int,
    every: int,
    contestant: Contestant,
) -> dict[str, Any]:
    pid = process.pid
    idle = await idle_rss(contestant, process, api, log_path)

    peak = idle
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, proc_status(pid, "VmRSS"))
            await asyncio.sleep(SAMPLE_EVERY)

    counts = iter(range(messages))
    answered = lost = incomplete = 0
    curve: list[tuple[int, float]] = []
    began = time.perf_counter()

    async def user(uid: int) -> None:
        nonlocal answered, lost, incomplete
        while (n := next(counts, None)) is not None:
            text = f"message {n} from user {uid}"
            result = await timed_message(api, uid, text)
            if result is None:
                lost += 1
                continue
            answered += 1
            incomplete += not complete(result[1], text)
            if answered % every == 0:
                curve.append((answered, proc_status(pid, "VmRSS")))

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(user(uid) for uid in user_ids))
    sampling = False
    await sampler
    elapsed = time.perf_counter() - began
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.wait, 40)
    values = [rss for _, rss in curve]
    return {
        "users": len(user_ids),
        "messages": messages,
        "answered": answered,
        "complete": answered - incomplete,
        "lost": lost,
        "elapsed_s": round(elapsed, 1),
        "idle_mib": round(idle, 1),
        "peak_mib": round(peak, 1),
        "peak_over_idle_mib": round(peak - idle, 1),
        "curve_mib": [(n, round(rss, 1)) for n, rss in curve],
        "flat_spread_mib": round(max(values) - min(values), 1) if values else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="Users sending at once (100).")
    parser.add_argument("--messages", type=int, default=10_000, help="Messages in all (10,000).")
    parser.add_argument("--every", type=int, default=1_000, help="Messages between samples.")
    parser.add_argument("--timeout", type=float, default=1200.0, help="Seconds for the whole run.")
    parser.add_argument(
        "--history-tokens",
        type=int,
        help="agent.history_tokens (default 12,000): what each session's turn reads, and so "
        "what the store's history cache holds per session",
    )
    parser.add_argument(
        "--prefill",
        type=int,
        default=PREFILL_TURNS,
        help=f"Earlier turns each user's session holds at the start ({PREFILL_TURNS}: past the "
        "default 12,000-token budget, as on a gateway that has run a while); 0 starts every "
        "session empty, so the turns' requests and the history cache grow with the sessions "
        "until they reach the budget",
    )
    parser.add_argument("--output", type=Path, help="Write the figures as JSON here.")
    args = parser.parse_args()
    result = asyncio.run(
        run(args.users, args.messages, args.every, args.timeout, args.history_tokens, args.prefill)
    )
    print(
        f"{result['answered']}/{result['messages']} answered ({result['complete']} complete, "
        f"{result['lost']} lost) by {result['users']} users in {result['elapsed_s']} s, "
        f"each session prefilled with {result['prefill_turns']} turns"
    )
    print(
        f"idle {result['idle_mib']} MiB, peak {result['peak_mib']} MiB: "
        f"+{result['peak_over_idle_mib']} (target <= +{PEAK_TARGET_MIB:g})"
    )
    curve = ", ".join(f"{n}: {rss}" for n, rss in result["curve_mib"])
    print(f"RSS every {args.every} messages (MiB): {curve}")
    print(f"spread {result['flat_spread_mib']} MiB (target <= {FLAT_TARGET_MIB:g}, +-5)")
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
