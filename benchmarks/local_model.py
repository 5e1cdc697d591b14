"""How fast the offline model (`local/smollm2`, plugin openclaw-provider-local) is on this machine.

    python benchmarks/local_model.py                  # 5 runs per thread count, about 30 s
    python benchmarks/local_model.py --runs 3 --threads 1 2 --cli

Each run is a fresh interpreter, as each `openclaw` command is: it imports llama_cpp, loads the
model through the provider, then streams two answers through `LocalProvider.stream` (the real
path: the model's thread, the queue, the event loop). The figures are medians over the runs.
What each one means is in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

SYSTEM = (
    "You are main, a personal AI assistant. Answer the user directly and concisely. "
    "Use the tools you are given when they help; say so when something failed."
)
"""The kernel's system prompt with an empty workspace: what the README command sends."""
SHORT = "Hello! Who are you?"
LONG = "Write a long story about a dragon who learns to bake bread."
LONG_TOKENS = 200

# One run in a fresh interpreter; prints one JSON line.
PROBE = """
import asyncio, json, sys, time
t0 = time.perf_counter()
import llama_cpp
t1 = time.perf_counter()
from openclaw.messages import Message
from openclaw.providers import ChatDelta, ChatRequest, ChatResult
from openclaw_provider_local.provider import LocalProvider, LocalSettings

SYSTEM, SHORT, LONG, LONG_TOKENS, THREADS = {args!r}

async def timed(provider, text, max_tokens):
    messages = [Message(role="system", content=SYSTEM), Message(role="user", content=text)]
    request = ChatRequest("smollm2", messages, max_tokens=max_tokens, temperature=0)
    start = time.perf_counter()
    first = None
    async for event in provider.stream(request):
        if isinstance(event, ChatDelta) and first is None:
            first = time.perf_counter()
        elif isinstance(event, ChatResult):
            end = time.perf_counter()
            return start, first, end, event.usage

async def main():
    provider = LocalProvider("local", LocalSettings(threads=THREADS))
    t2 = time.perf_counter()
    await provider.load("smollm2")
    t3 = time.perf_counter()
    start, first, _, usage = await timed(provider, SHORT, 64)
    long_start, long_first, long_end, long_usage = await timed(provider, LONG, LONG_TOKENS)
    print(json.dumps({{
        "import_ms": (t1 - t0) * 1000,
        "load_ms": (t3 - t2) * 1000,
        "first_token_ms": (first - start) * 1000,
        "prompt_tokens": usage.input_tokens,
        "prompt_tokens_per_s": usage.input_tokens / (first - start),
        "answer_tokens": long_usage.output_tokens,
        "tokens_per_s": (long_usage.output_tokens - 1) / (long_end - long_first),
    }}))

asyncio.run(main())
"""


def run_probe(threads: int) -> dict[str, float]:
    args = (SYSTEM, SHORT, LONG, LONG_TOKENS, threads)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def run_cli() -> float:
    """Wall time of the README's main command with no config and nothing on Ollama's port:
    start-up, the failed Ollama attempt (with the SDK's retries), the load and the answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    with tempfile.TemporaryDirectory() as home:
        env["OPENCLAW_HOME"] = home
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "openclaw.cli", "agent", "-m", SHORT],
            env=env,
            capture_output=True,
            check=True,
        )
        return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per thread count")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[os.cpu_count() or 1], help="thread counts"
    )
    parser.add_argument("--cli", action="store_true", help="also time the README command")
    options = parser.parse_args()

    run_probe(options.threads[0])  # untimed: warms the file cache and the bytecode cache
    results: dict[str, Any] = {"cpus": os.cpu_count(), "runs": options.runs, "threads": {}}
    for threads in options.threads:
        samples = [run_probe(threads) for _ in range(options.runs)]
        medians = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        results["threads"][threads] = medians
        print(
            f"threads={threads}: import llama_cpp {medians['import_ms']:.0f} ms · "
            f"load {medians['load_ms']:.0f} ms · first token {medians['first_token_ms']:.0f} ms "
            f"({medians['prompt_tokens']:.0f}-token prompt, "
            f"{medians['prompt_tokens_per_s']:.0f} tok/s) · "
            f"generation {medians['tokens_per_s']:.1f} tok/s "
            f"(over {medians['answer_tokens']:.0f} tokens)"
        )
    if options.cli:
        walls = [run_cli() for _ in range(options.runs)]
        results["cli_ms"] = statistics.median(walls)
        print(f"README command, no config, Ollama absent: {results['cli_ms']:.0f} ms wall")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
