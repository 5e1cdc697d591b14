"""The whole Telegram path: a real `openclaw gateway` process, the real aiogram client, a fake
Bot API and a zero-latency model; messages per second, per-message latency and the gateway's
memory idle and loaded.

    python benchmarks/telegram_path.py                  # 100 users × 20 messages, about 30-60 s
    python benchmarks/telegram_path.py --messages 5 --default-messages 0   # quicker

Both fakes run in this process (each in its own thread): `FakeBotAPI` (the Bot API over HTTP,
long polling included) and `FakeOpenAIServer` (OpenAI streaming, no added latency, an echo of
the user's text). The gateway is a subprocess started as a user starts it (`python -m
openclaw.cli gateway --port 0`, temporary OPENCLAW_HOME, the token from $TELEGRAM_BOT_TOKEN).

A message's latency runs from `user_sends` (the update is queued for getUpdates) to the moment
the fake Bot API accepts the edit (or the send) whose text carries the reply's stats footer, or
the busy reply. Each user sends its next message when the previous one is answered; all users
run at once. The gateway's RSS comes from /proc/PID/status: idle once it polls, sampled every
100 ms during the run (peak) and VmHWM at the end. The gateway is stopped with SIGTERM and must
exit 0.
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
import urllib.request
from pathlib import Path
from typing import Any

from openclaw_channel_telegram.testing import FakeBotAPI

from openclaw.gateway import BUSY_REPLY
from openclaw.testing.servers import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
FOOTER = re.compile(r"\d+ms · \d+ round\(s\) · \d+ tool\(s\) · \d+ tokens · ")
FIRST_USER = 10_000
TIMEOUT = 30.0  # seconds a single message may take before it counts as lost


class TimedBotAPI(FakeBotAPI):
    """The fake Bot API, plus a timestamp when a chat gets its final reply text."""

    def __init__(self) -> None:
        super().__init__(max_poll_wait=1.0)
        self.waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}

    def expect(self, chat_id: int) -> asyncio.Future[tuple[float, str]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[float, str]] = loop.create_future()
        self.waiters[chat_id] = (loop, future)
        return future

    def _final(self, chat_id: int, text: str) -> None:
        if not (FOOTER.search(text) or BUSY_REPLY in text):
            return
        now = time.perf_counter()
        waiter = self.waiters.pop(chat_id, None)
        if waiter is not None:
            loop, future = waiter
            loop.call_soon_threadsafe(_resolve, future, (now, text))

    async def _api_sendmessage(self, params: dict[str, Any], files: Any) -> Any:
        result = await super()._api_sendmessage(params, files)
        self._final(int(params["chat_id"]), result.get("text", ""))
        return result

    async def _api_editmessagetext(self, params: dict[str, Any], files: Any) -> Any:
        result = await super()._api_editmessagetext(params, files)
        self._final(int(params["chat_id"]), result.get("text", ""))
        return result


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def proc_status(pid: int, field: str) -> float:
    """A memory field of /proc/PID/status in MiB (0 when unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def metric_total(samples: dict[str, Any], name: str) -> float:
    return sum(item["value"] for item in samples.get(name, []))


async def series(
    label: str, users: int, messages: int, limits: dict[str, int], profile: Path | None = None
) -> dict[str, Any]:
    user_ids = list(range(FIRST_USER, FIRST_USER + users))
    with (
        tempfile.TemporaryDirectory() as home,
        TimedBotAPI() as api,
        FakeOpenAIServer() as model,
    ):
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": model.base_url}},
            "channels": {
                "telegram": {
                    "enabled": True,
                    "token": {"$env": "TELEGRAM_BOT_TOKEN"},
                    "api_base": api.base_url,
                    "allowed_user_ids": user_ids,
                    "poll_timeout": 1,
                }
            },
            "limits": limits,
        }
        Path(home, "openclaw.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env |= {
            "OPENCLAW_HOME": home,
            "OPENCLAW_LOAD_PLUGINS": "telegram",
            "TELEGRAM_BOT_TOKEN": api.token,
            "OPENAI_API_KEY": "sk-bench",
        }
        log_path = Path(home, "gateway.log")
        with log_path.open("w") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                [
                    sys.executable,
                    *(["-m", "cProfile", "-o", str(profile.resolve())] if profile else []),
                    *["-m", "openclaw.cli", "gateway", "--port", "0"],
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            return await drive(
                label, process, api, model, log_path, user_ids, messages, limits, started
            )
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def drive(
    label: str,
    process: subprocess.Popen[bytes],
    api: TimedBotAPI,
    model: FakeOpenAIServer,
    log_path: Path,
    user_ids: list[int],
    messages: int,
    limits: dict[str, int],
    started: float,
) -> dict[str, Any]:
    pid = process.pid

    def ready_line() -> str | None:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited {process.returncode}:\n{log_path.read_text()}")
        match = re.search(r"openclaw gateway on http://([\d.]+):(\d+)", log_path.read_text())
        return match.group(0) if match else None

    line = await api.wait_for(ready_line, 60, 0.05, "the gateway was not ready")
    ready_s = time.perf_counter() - started
    base = line.split(" on ", 1)[1]
    await api.wait_for(lambda: api.calls_to("getUpdates"), 30, 0.05, "no getUpdates")
    await asyncio.sleep(1.0)  # settle: one idle long poll
    rss_idle = proc_status(pid, "VmRSS")

    # One untimed message: the first turn imports the OpenAI SDK and opens the store.
    warm = api.expect(user_ids[0])
    api.user_sends(user_ids[0], user_ids[0], "warm-up")
    await asyncio.wait_for(warm, TIMEOUT)
    rss_warm = proc_status(pid, "VmRSS")
    requests_before = len(model.requests)

    peak = rss_warm
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, proc_status(pid, "VmRSS"))
            await asyncio.sleep(0.1)

    latencies: list[float] = []
    busy = lost = 0

    async def user(uid: int) -> None:
        nonlocal busy, lost
        for n in range(messages):
            answered = api.expect(uid)
            began = time.perf_counter()
            api.user_sends(uid, uid, f"message {n} from user {uid}")
            try:
                finished, text = await asyncio.wait_for(answered, TIMEOUT)
            except TimeoutError:
                lost += 1
                api.waiters.pop(uid, None)
                continue
            latencies.append((finished - began) * 1000)
            busy += BUSY_REPLY in text

    sampler = asyncio.create_task(sample())
    gateway_cpu, own_cpu = cpu_seconds(pid), time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(user(uid) for uid in user_ids))
    elapsed = time.perf_counter() - began
    gateway_cpu = cpu_seconds(pid) - gateway_cpu
    own_cpu = time.process_time() - own_cpu
    sampling = False
    await sampler
    rss_end = proc_status(pid, "VmRSS")
    rss_hwm = proc_status(pid, "VmHWM")
    peak = max(peak, rss_end)

    samples = await asyncio.to_thread(_get_json, f"{base}/metrics/json")
    process.send_signal(signal.SIGTERM)
    stop_began = time.perf_counter()
    returncode = await asyncio.to_thread(process.wait, 40)
    stop_s = time.perf_counter() - stop_began
    log_text = log_path.read_text()

    latencies.sort()
    return {
        "series": label,
        "users": len(user_ids),
        "messages_per_user": messages,
        "messages": len(user_ids) * messages,
        "answered": len(latencies),
        "lost": lost,
        "limits": limits,
        "elapsed_s": round(elapsed, 2),
        "messages_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else 0.0,
        "busy_replies": busy,
        "gateway_cpu_s": round(gateway_cpu, 2),
        "benchmark_cpu_s": round(own_cpu, 2),
        "model_requests": len(model.requests) - requests_before,
        "gateway_metrics": {
            "requests": metric_total(samples, "openclaw_requests_total"),
            "busy_rejected": metric_total(samples, "openclaw_busy_rejected_total"),
            "rate_limited": metric_total(samples, "openclaw_rate_limited_total"),
            "errors": metric_total(samples, "openclaw_errors_total"),
            "turns": metric_total(samples, "openclaw_turn_latency_seconds_count"),
        },
        "bot_api_calls": {
            method: len(api.calls_to(method))
            for method in ("getUpdates", "sendMessage", "editMessageText", "sendChatAction")
        },
        "gateway_ready_s": round(ready_s, 2),
        "rss_idle_mib": round(rss_idle, 1),
        "rss_after_warmup_mib": round(rss_warm, 1),
        "rss_peak_sampled_mib": round(peak, 1),
        "rss_end_mib": round(rss_end, 1),
        "rss_hwm_mib": round(rss_hwm, 1),
        "sigterm_exit_code": returncode,
        "sigterm_exit_s": round(stop_s, 2),
        "gateway_log_errors": [
            line for line in log_text.splitlines() if "Traceback" in line or "error" in line
        ][:10],
    }


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'series':<22}{'msgs':>6}{'conc':>6}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'busy':>6}{'lost':>6}{'RSS idle':>10}{'peak':>7}{'HWM':>7}{'exit':>6}"
    )
    print(header)
    for r in results:
        print(
            f"{r['series']:<22}{r['messages']:>6}{r['limits']['max_concurrent_turns']:>6}"
            f"{r['messages_per_second']:>8}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}"
            f"{r['busy_replies']:>6}{r['lost']:>6}{r['rss_idle_mib']:>10}"
            f"{r['rss_peak_sampled_mib']:>7}{r['rss_hwm_mib']:>7}{r['sigterm_exit_code']:>6}"
        )
    print("RSS in MiB (gateway process); latency from user_sends to the footer edit.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="Messages per user.")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=200,
        help="limits.max_concurrent_turns (default 200: a turn holds its slot a little after "
        "its last edit, so with 100 there are a few busy replies)",
    )
    parser.add_argument(
        "--default-messages",
        type=int,
        default=5,
        help="Messages per user in the series with the default 5 concurrent turns (0: skip).",
    )
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).with_name("telegram_path.json")
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        help="Run the gateway of the first series under cProfile and write its stats to PATH "
        "(inflates every figure; read it with pstats).",
    )
    args = parser.parse_args()
    # Debounce off (it would add 1.5 s to every message) and a rate limit no user reaches.
    relaxed = {"debounce_ms": 0, "rate_per_minute": 100_000}
    plan = [
        (
            f"concurrency {args.concurrency}",
            args.messages,
            {**relaxed, "max_concurrent_turns": args.concurrency},
        )
    ]
    if args.default_messages:
        plan.append(
            ("default concurrency 5", args.default_messages, {**relaxed, "max_concurrent_turns": 5})
        )
    results = []
    if args.profile:
        plan = plan[:1]
    for label, messages, limits in plan:
        print(f"running: {label}, {args.users} users × {messages} messages", file=sys.stderr)
        results.append(asyncio.run(series(label, args.users, messages, limits, args.profile)))
    print_table(results)
    import aiogram

    output = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "aiogram": aiogram.__version__,
        "cpus": os.cpu_count(),
        "results": results,
    }
    args.output.write_text(json.dumps(output, indent=2) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
