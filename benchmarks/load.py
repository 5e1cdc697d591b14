"""Our gateway under load next to the floor (and, optionally, another checkout), in one run.

    python benchmarks/load.py                                # 50 users, 200 messages
    python benchmarks/load.py --messages 200 --users 50 --baseline /tmp/main-bench
    python benchmarks/load.py --repeat 3                     # medians of 3 interleaved rounds

Every contestant is a subprocess doing the same Telegram work against the same fakes, which
run in this process: `FakeBotAPI` (the Bot API over HTTP, long polling, MarkdownV2 checked as
Telegram checks it) and `FakeOpenAIServer` (OpenAI streaming, no added latency: an echo of
the message and a 330-character paragraph in 8 chunks).

- floor: `floor_bot.py`, a bare aiohttp loop (getUpdates, one streamed model request,
  sendMessage and one editMessageText);
- ours: `python -m openclaw.cli gateway` of this checkout, with the Telegram and built-in
  tools plugins (so requests carry the tool schemas, as an installed gateway's do);
- baseline (`--baseline PATH`): the same command run from another checkout's sources, e.g.
  `git worktree add --detach /tmp/main-bench main`.

Users send closed loop (the next message when the previous one is answered). A message's
latency runs from the update being queued to the fake accepting the text with the stats
footer. CPU is the contestant's utime+stime (/proc/PID/stat) over the load, per message; Bot
API calls exclude getUpdates. Every message must be answered with its full echo and a footer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from telegram_path import (  # noqa: E402  (a sibling script, not a package)
    FOOTER,
    TimedBotAPI,
    cpu_seconds,
    percentile,
    proc_status,
)

from openclaw.testing.servers import FakeOpenAIServer, Reply, last_user_text  # noqa: E402

FIRST_USER = 10_000
MESSAGE_TIMEOUT = 30.0
"""Seconds one message may take before it counts as lost."""
SERIES_TIMEOUT = 300.0
"""Seconds one contestant's whole load may take."""
READY_TIMEOUT = 60.0
SETTLE = 2.0
"""Seconds between the first getUpdates and the idle RSS (background imports finish)."""
PLUGINS = "telegram,tools"
ANSWER = (
    "Here is what I found (3 sources, checked twice): the gateway answers in one pass - "
    "it reads the message, asks the model, streams the reply and edits it once more with "
    "the footer. Costs add up per message: parsing, the request body, the markup, every "
    "Bot API call. Keep each step small, measure it, and repeat! Questions? Ask again."
)
"""What the model streams after the echo (about 330 characters in 8 chunks): long enough for
streamed edits, with the characters MarkdownV2 must escape."""
CHUNKS = 8


def answer(body: dict[str, Any]) -> Reply:
    return Reply(f"echo: {last_user_text(body)}. {ANSWER}", chunks=CHUNKS)


@dataclass
class Contestant:
    label: str
    argv: list[str]
    ready: re.Pattern[str]
    source: Path | None = None  # a checkout whose sources replace this one's
    results: list[dict[str, Any]] = field(default_factory=list)


def source_path(checkout: Path) -> str:
    """PYTHONPATH that makes a subprocess import the kernel and the plugins of `checkout`."""
    plugins = sorted(str(p) for p in (checkout / "plugins").iterdir() if p.is_dir())
    return os.pathsep.join([str(checkout), *plugins])


def contestant_env(contestant: Contestant, home: str, token: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_") and k != "PYTHONPATH"
    }
    env |= {
        "OPENCLAW_HOME": home,
        "OPENCLAW_LOAD_PLUGINS": PLUGINS,
        "TELEGRAM_BOT_TOKEN": token,
        "OPENAI_API_KEY": "sk-bench",
    }
    if contestant.source is not None:
        env["PYTHONPATH"] = source_path(contestant.source)
    return env


def check_source(contestant: Contestant) -> None:
    """Fail early when a gateway would not run the code of its checkout (this one, or the
    baseline's): e.g. a `python` outside this checkout's virtualenv."""
    checkout = contestant.source or ROOT
    env = contestant_env(contestant, tempfile.gettempdir(), "x")
    probe = "import openclaw, openclaw_channel_telegram as t; print(openclaw.__file__, t.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wrong = [path for path in out if not Path(path).resolve().is_relative_to(checkout)]
    if wrong:
        raise SystemExit(f"{contestant.label}: {wrong} is not from {checkout}")


def gateway_config(home: str, api: TimedBotAPI, model: FakeOpenAIServer, users: list[int]) -> None:
    config = {
        "agent": {"model": "srv/fake-model"},
        "providers": {"srv": {"type": "openai", "base_url": model.base_url}},
        "channels": {
            "telegram": {
                "enabled": True,
                "token": {"$env": "TELEGRAM_BOT_TOKEN"},
                "api_base": api.base_url,
                "allowed_user_ids": users,
                "poll_timeout": 1,
            }
        },
        # Debounce off (it adds 1.5 s to every message) and no limit a user reaches.
        "limits": {"debounce_ms": 0, "rate_per_minute": 100_000, "max_concurrent_turns": 200},
    }
    Path(home, "openclaw.json").write_text(json.dumps(config))


async def one_series(contestant: Contestant, users: int, messages: int) -> dict[str, Any]:
    user_ids = list(range(FIRST_USER, FIRST_USER + users))
    with (
        tempfile.TemporaryDirectory() as home,
        TimedBotAPI() as api,
        FakeOpenAIServer(default=answer) as model,
    ):
        gateway_config(home, api, model, user_ids)
        argv = [
            part.format(api=api.base_url, token=api.token, model=model.base_url)
            for part in contestant.argv
        ]
        log_path = Path(home, "contestant.log")
        with log_path.open("w") as log:
            process = subprocess.Popen(
                argv,
                env=contestant_env(contestant, home, api.token),
                cwd=contestant.source or ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            return await asyncio.wait_for(
                drive(contestant, process, api, log_path, user_ids, messages), SERIES_TIMEOUT
            )
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def timed_message(api: TimedBotAPI, uid: int, text: str) -> tuple[float, str] | None:
    """Send one message and wait for its footer: (latency ms, final text), or None if lost."""
    answered = api.expect(uid)
    began = time.perf_counter()
    api.user_sends(uid, uid, text)
    try:
        finished, final = await asyncio.wait_for(answered, MESSAGE_TIMEOUT)
    except TimeoutError:
        api.waiters.pop(uid, None)
        return None
    return (finished - began) * 1000, final


def complete(final: str, text: str) -> bool:
    """The user sees the whole echo and a stats footer."""
    return f"echo: {text}. {ANSWER}" in final and FOOTER.search(final) is not None


async def idle_rss(
    contestant: Contestant, process: subprocess.Popen[bytes], api: TimedBotAPI, log_path: Path
) -> float:
    """Wait until the contestant says it is ready and polls, let it settle: its VmRSS then."""

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{contestant.label} exited:\n{log_path.read_text()[-3000:]}")
        return bool(contestant.ready.search(log_path.read_text()))

    await api.wait_for(ready, READY_TIMEOUT, 0.05, f"{contestant.label} was not ready")
    await api.wait_for(lambda: api.calls_to("getUpdates"), 30, 0.05, "no getUpdates")
    await asyncio.sleep(SETTLE)
    return proc_status(process.pid, "VmRSS")


async def drive(
    contestant: Contestant,
    process: subprocess.Popen[bytes],
    api: TimedBotAPI,
    log_path: Path,
    user_ids: list[int],
    messages: int,
) -> dict[str, Any]:
    pid = process.pid
    rss_idle = await idle_rss(contestant, process, api, log_path)

    # The first message after start (what the first user waits for), then a second one.
    probe_user = user_ids[0]
    first = await timed_message(api, probe_user, "first")
    second = await timed_message(api, probe_user, "second")

    counts = iter(range(messages))
    latencies: list[float] = []
    lost = incomplete = 0

    async def user(uid: int) -> None:
        nonlocal lost, incomplete
        while (n := next(counts, None)) is not None:
            text = f"message {n} from user {uid}"
            result = await timed_message(api, uid, text)
            if result is None:
                lost += 1
                continue
            latencies.append(result[0])
            incomplete += not complete(result[1], text)

    calls_before = len(api.calls)
    cpu_before = cpu_seconds(pid)
    began = time.perf_counter()
    await asyncio.gather(*(user(uid) for uid in user_ids))
    elapsed = time.perf_counter() - began
    cpu = cpu_seconds(pid) - cpu_before
    calls = [c.method for c in api.calls[calls_before:]]
    rss_after = proc_status(pid, "VmRSS")

    process.send_signal(signal.SIGTERM)
    returncode = await asyncio.to_thread(process.wait, 40)
    latencies.sort()
    answered = len(latencies)
    per_method = {m: calls.count(m) for m in sorted(set(calls)) if m != "getUpdates"}
    return {
        "series": contestant.label,
        "messages": messages,
        "users": len(user_ids),
        "answered": answered,
        "complete": answered - incomplete,
        "lost": lost,
        "elapsed_s": round(elapsed, 3),
        "msg_per_s": round(answered / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "cpu_ms_per_msg": round(cpu * 1000 / max(answered, 1), 2),
        "bot_calls_per_msg": round(sum(per_method.values()) / max(answered, 1), 2),
        "bot_calls": per_method,
        "get_updates": calls.count("getUpdates"),
        "rss_idle_mib": round(rss_idle, 1),
        "rss_after_mib": round(rss_after, 1),
        "first_msg_ms": round(first[0], 1) if first else None,
        "second_msg_ms": round(second[0], 1) if second else None,
        "exit_code": returncode,
    }


COLUMNS = [
    ("msg/s", "msg_per_s"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
    ("CPU ms/msg", "cpu_ms_per_msg"),
    ("API/msg", "bot_calls_per_msg"),
    ("RSS idle", "rss_idle_mib"),
    ("RSS after", "rss_after_mib"),
    ("1st msg ms", "first_msg_ms"),
    ("2nd msg ms", "second_msg_ms"),
]


def median_of(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if r[key] is not None]
    return round(statistics.median(values), 2) if values else None


def print_table(contestants: list[Contestant]) -> None:
    print(f"{'series':<10}" + "".join(f"{title:>12}" for title, _ in COLUMNS) + f"{'ok':>12}")
    for c in contestants:
        row = [median_of(c.results, key) for _, key in COLUMNS]
        ok = f"{sum(r['complete'] for r in c.results)}/{sum(r['messages'] for r in c.results)}"
        print(f"{c.label:<10}" + "".join(f"{v!s:>12}" for v in row) + f"{ok:>12}")
    floor = contestants[0]
    for c in contestants[1:] if floor.label == "floor" else []:
        rate = median_of(c.results, "msg_per_s") or 0
        cpu = median_of(c.results, "cpu_ms_per_msg") or 0
        floor_rate = median_of(floor.results, "msg_per_s") or 1
        floor_cpu = median_of(floor.results, "cpu_ms_per_msg") or 1
        print(
            f"{c.label}: {floor_rate / max(rate, 0.01):.1f}x slower than the floor, "
            f"{cpu / floor_cpu:.1f}x its CPU per message; Bot API calls "
            f"{c.results[-1]['bot_calls']}"
        )
    print("RSS in MiB; medians over rounds; 'ok' = answered with full text and footer.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200, help="Messages in all (default 200).")
    parser.add_argument("--users", type=int, default=50, help="Users sending at once (50).")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT", help="Another checkout.")
    parser.add_argument("--repeat", type=int, default=1, help="Interleaved rounds (median).")
    parser.add_argument("--no-floor", action="store_true", help="Skip the floor.")
    parser.add_argument("--output", type=Path, help="Write every figure as JSON here.")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        help="Run our gateway under cProfile, stats to PATH (inflates its figures).",
    )
    args = parser.parse_args()
    gateway = [sys.executable, "-m", "openclaw.cli", "gateway", "--port", "0"]
    gateway_ready = re.compile(r"openclaw gateway on http://")
    contestants = [
        Contestant(
            "floor",
            [sys.executable, str(HERE / "floor_bot.py"), "{api}", "{token}", "{model}"],
            re.compile("floor ready"),
        ),
        Contestant(
            "ours",
            [sys.executable, "-m", "cProfile", "-o", str(args.profile.resolve()), *gateway[1:]]
            if args.profile
            else gateway,
            gateway_ready,
        ),
    ]
    if args.no_floor:
        contestants.pop(0)
    if args.baseline:
        baseline = Contestant("baseline", gateway, gateway_ready, args.baseline.resolve())
        contestants.append(baseline)
    for contestant in contestants:
        if contestant.label != "floor":
            check_source(contestant)
    for round_ in range(args.repeat):
        for contestant in contestants:
            print(f"round {round_ + 1}: {contestant.label}", file=sys.stderr, flush=True)
            result = asyncio.run(one_series(contestant, args.users, args.messages))
            contestant.results.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    print_table(contestants)
    if args.output:
        data = {c.label: c.results for c in contestants}
        args.output.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
