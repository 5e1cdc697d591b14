"""Idle memory of `openclaw gateway`, and where it goes, import by import.

    python benchmarks/memory.py                 # telegram, discord and no channel: about 1 min
    python benchmarks/memory.py --only none     # one configuration
    python benchmarks/memory.py --json out.json # the figures as JSON too

Each configuration starts the real `openclaw gateway` in a subprocess, with every installed
plugin (as a user has them) and a temporary `OPENCLAW_HOME`: `telegram` polls the local fake Bot
API (`openclaw_channel_telegram.testing`), `discord` holds a gateway websocket to the local fake
Discord (`openclaw_channel_discord.testing`), `none` runs cron and the HTTP endpoints only. Once
the channel is running and the process has been idle a few seconds, its resident memory (VmRSS)
is read from /proc and it is asked (SIGUSR1) for the modules it imported.

The attribution then replays those imports in fresh interpreters, one step more each time, and
prints what each step added (MiB): `python -c pass`, the standard library modules the gateway
imported, each third-party package it imported (smallest first, so each shows what it adds to
those it builds on; `alone` is the package by itself over `python -c pass`), then the rest
(openclaw, its plugins, submodules); what the idle gateway holds beyond all its imports is its
own state (threads, the event loop, the store's connection, caches). The steps add up to the
idle figure. Linux only; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from openclaw.lean_import import ASYNCIO_ONLY_EXTRAS, SQLITE_UTILS_EXTRAS, STRUCTLOG_EXTRAS
from openclaw.testing.gateway_process import MODULE_LISTING_CLI

SETTLE = 3.0  # seconds idle after the channel runs, before RSS is read
TARGETS_MIB = {"telegram": 175, "discord": 90, "none": 60}


# Imports the modules named in argv[1] (a JSON list), with those in argv[2] made unimportable
# (optional packages the gateway kept out, as `openclaw.lean_import` does), then prints VmRSS.
# aiogram is imported as the channel imports it (its types built on first use), and the step
# that imports the channel also makes its bot, which builds the models every message uses.
IMPORTER = """
import importlib, json, sys
for name in json.loads(sys.argv[2]):
    sys.modules[name] = None
names = json.loads(sys.argv[1])
if "aiogram" in names:
    from openclaw_channel_telegram.aiogram_import import import_aiogram
    import_aiogram()
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
if "openclaw_channel_telegram.channel" in names:
    from openclaw_channel_telegram.channel import TelegramChannel
    from openclaw_channel_telegram.settings import TelegramSettings
    TelegramChannel(None, TelegramSettings(token="1:" + "a" * 35)).bot
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(line.split()[1])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def base_config() -> dict[str, Any]:
    # a model that is never asked (the gateway stays idle): a closed port is enough
    return {
        "agent": {"model": "fake/idle"},
        "providers": {"fake": {"type": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"}},
    }


@contextmanager
def configuration(name: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """The config for `name` and the channel to wait for, with its fake server running."""
    config = base_config()
    if name == "none":
        yield config, None
        return
    if name == "telegram":
        from openclaw_channel_telegram.testing import FakeBotAPI

        with FakeBotAPI() as api:
            config["channels"] = {"telegram": api.channel_settings()}
            yield config, "telegram"
        return
    from openclaw_channel_discord.testing import FakeDiscord

    with FakeDiscord() as api:
        config["channels"] = {
            "discord": {
                "enabled": True,
                "token": api.token,
                "api_base": api.api_base,
                "allowed_user_ids": [42],
                "identify_delay": 0,
            }
        }
        yield config, "discord"


def channel_state(port: int, channel: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as response:
            status = json.load(response)
    except OSError:
        return "not answering"
    return status.get("channels", {}).get(channel, {}).get("state", "absent")


def measure_gateway(name: str, settle: float, plugins: str | None = None) -> dict[str, Any]:
    """Start the gateway for configuration `name`, wait until it idles, read its RSS and
    the modules it imported."""
    with ExitStack() as stack:
        config, channel = stack.enter_context(configuration(name))
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oc-mem-")))
        (home / "openclaw.json").write_text(json.dumps(config))
        modules_file = home / "modules.json"
        env = {key: value for key, value in os.environ.items() if not key.startswith("OPENCLAW_")}
        env.update(
            OPENCLAW_HOME=str(home),
            OPENAI_API_KEY="sk-idle",
            OPENCLAW_MODULES_FILE=str(modules_file),
        )
        if plugins is not None:
            env["OPENCLAW_LOAD_PLUGINS"] = plugins
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-c", MODULE_LISTING_CLI, "gateway", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started = time.monotonic()
            state = ""
            while time.monotonic() - started < 60:
                if process.poll() is not None:
                    raise RuntimeError(f"{name}: the gateway exited: {process.stderr.read()}")
                state = channel_state(port, channel or "")
                if state == "running" or (channel is None and state == "absent"):
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{name}: the channel is {state!r} after 60 s")
            ready = time.monotonic() - started
            time.sleep(settle)
            rss = rss_kib(process.pid)
            process.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 10
            while not modules_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)  # let the write finish
            modules = json.loads(modules_file.read_text())
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return {"rss_kib": rss, "ready_s": round(ready, 2), "modules": modules}


# imported by some packages only when installed, and kept out by `openclaw.lean_import`
OPTIONAL = (*SQLITE_UTILS_EXTRAS, *STRUCTLOG_EXTRAS, *ASYNCIO_ONLY_EXTRAS)


def import_rss(modules: list[str], absent: list[str] | None = None) -> int:
    """RSS (KiB) of a fresh interpreter after importing `modules` in order, with `absent`
    unimportable."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORTER, json.dumps(modules), json.dumps(absent or [])],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return int(out.stdout.split()[-1])


def third_party(modules: list[str]) -> list[str]:
    """The top-level packages the gateway imported that are neither stdlib nor openclaw's."""
    names = []
    for module in modules:
        top = module.split(".")[0]
        if top in names or top in sys.stdlib_module_names or top.startswith(("_", "openclaw")):
            continue
        names.append(top)
    return names


def attribute(modules: list[str]) -> list[tuple[str, int, int | None]]:
    """(step, KiB it added, KiB the package takes alone over `python -c pass`) for each step;
    see the module docstring. Packages go smallest first, so each shows what it adds to those
    it builds on (aiogram over pydantic and aiohttp); those under 0.5 MiB alone share a step."""
    absent = [name for name in OPTIONAL if name not in modules]
    baseline = import_rss([])
    replayable = [m for m in modules if m not in ("__main__", "__mp_main__")]
    stdlib = [m for m in replayable if m.split(".")[0] in sys.stdlib_module_names]
    alone = {name: import_rss([name], absent) - baseline for name in third_party(modules)}
    order = sorted(alone, key=lambda name: alone[name])
    small = [name for name in order if alone[name] < 512]
    steps: list[tuple[str, list[str], int | None]] = [
        ("python -c pass", [], None),
        ("+ the standard library modules it imported", stdlib, None),
    ]
    if small:
        steps.append((f"+ {len(small)} small packages ({', '.join(small)})", stdlib + small, None))
    for index, name in enumerate(order):
        if name not in small:
            steps.append((f"+ {name}", stdlib + order[: index + 1], alone[name]))
    done = stdlib + order
    submodules = [m for m in replayable if m.split(".")[0] in alone]
    done += submodules
    steps.append(("+ the submodules of those packages it imported", list(done), None))
    others = {m.split(".")[0] for m in replayable} - set(alone) - {"openclaw"}
    for package in ["openclaw", *sorted(others)]:
        if package.startswith("openclaw"):
            done += [m for m in replayable if m.split(".")[0] == package]
            steps.append((f"+ {package}", list(done), None))
    steps.append(("+ the rest", stdlib + order + replayable, None))
    rows: list[tuple[str, int, int | None]] = []
    previous = 0
    for label, names, by_itself in steps:
        rss = import_rss(names, absent) if names else baseline
        rows.append((label, rss - previous, by_itself))
        previous = rss
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=list(TARGETS_MIB), action="append")
    parser.add_argument("--settle", type=float, default=SETTLE, help="seconds idle before RSS")
    parser.add_argument("--no-attribution", action="store_true", help="idle figures only")
    parser.add_argument(
        "--plugins", help="OPENCLAW_LOAD_PLUGINS for the gateway (default: every installed one)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name in args.only or list(TARGETS_MIB):
        print(f"measuring {name} ...", file=sys.stderr)
        measured = measure_gateway(name, args.settle, args.plugins)
        rss = measured["rss_kib"]
        results[name] = {
            "idle_rss_mib": round(rss / 1024, 1),
            "ready_s": measured["ready_s"],
            "modules": measured["modules"],
        }
        print(
            f"\n{name}: idle RSS {rss / 1024:.1f} MiB (target <= {TARGETS_MIB[name]}), "
            f"ready in {measured['ready_s']:.1f} s"
        )
        if args.no_attribution:
            continue
        rows = attribute(measured["modules"])
        rows.append(("+ the idle gateway's own state", rss - sum(r[1] for r in rows), None))
        print(f"  {'adds':>8}  {'alone':>8}")
        for label, kib, by_itself in rows:
            shown = f"{by_itself / 1024:8.1f}" if by_itself is not None else " " * 8
            print(f"  {kib / 1024:8.1f}  {shown}  {label}")
        results[name]["steps_mib"] = {label: round(kib / 1024, 1) for label, kib, _ in rows}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
