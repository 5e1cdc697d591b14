"""The browser tool's costs: launching the browser, one navigation, and the gateway's memory
with the browser idle.

    python benchmarks/browser.py                      # 5 launches, 30 navigations: about 20 s
    python benchmarks/browser.py --launches 2 --navigations 10

Everything runs in this process, as in the gateway: an `App` with the openclaw-browser plugin
(temporary OPENCLAW_HOME, 127.0.0.1 allowed in the sandbox) calls the `browser` tool directly,
against an aiohttp page server on 127.0.0.1 in the same event loop.

- launch: the first call of a fresh App, `evaluate "1"` on the blank page: the Playwright
  driver, Chromium (the system one, found on PATH), the SSRF proxy and the session's context.
- navigation: `navigate` to a 20 KB article, text extraction included, on the warm browser,
  each through the SSRF-guarding proxy; then the same, each in a new session (a new context).
- memory: RSS and PSS (from /proc/PID/smaps_rollup; PSS shares pages fairly between the
  Chromium processes, RSS counts shared pages once per process) of this Python process, the
  Playwright driver (node) and the Chromium processes, 2 s after the last call: before the
  browser started, idle with one session's page open, and idle with as many as
  `tools.browser.max_sessions` allows (8) after the new-session series.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from openclaw_browser.settings import BrowserSettings

from openclaw.app import App
from openclaw.config import load_config
from openclaw.services import Services
from openclaw.tools import Tool, ToolCallContext

PARAGRAPH = "<p>" + "The tide turns around the amphidromic point, anticlockwise. " * 6 + "</p>\n"
ARTICLE = f"<!DOCTYPE html><title>Tides</title><body><h1>Tides</h1>{PARAGRAPH * 50}</body>"


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, name) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            table[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), name)
    return table


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KB."""
    values = {"Rss:": 0, "Pss:": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, *rest = line.split()
            if key in values:
                values[key] = int(rest[0])
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


def memory() -> dict[str, tuple[int, int, int]]:
    """(processes, RSS KB, PSS KB) of this process, the driver and Chromium."""
    table = _processes()
    me = os.getpid()

    def descends(pid: int) -> bool:
        while pid > 1:
            pid = table.get(pid, (0, ""))[0]
            if pid == me:
                return True
        return False

    groups: dict[str, list[int]] = {"python (App)": [me], "playwright driver": [], "chromium": []}
    for pid, (_, name) in table.items():
        if pid != me and descends(pid):
            group = "chromium" if "chrom" in name else "playwright driver"
            groups[group].append(pid)
    result = {}
    for group, pids in groups.items():
        sizes = [_memory_kb(pid) for pid in pids]
        result[group] = (len(pids), sum(s[0] for s in sizes), sum(s[1] for s in sizes))
    return result


def _browser_tool(app: App) -> Tool:
    return app.registry.tools["browser"].value


async def _call(tool: Tool, session: str, services: Services, **arguments: Any) -> str:
    result = await tool.run(arguments, ToolCallContext(session, services))
    if result.startswith("Error"):
        raise RuntimeError(result)
    return result


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"median {statistics.median(values) * 1000:7.1f} ms   min {ordered[0] * 1000:7.1f}   "
        f"p95 {p95 * 1000:7.1f}   (n={len(values)})"
    )


async def run(launches: int, navigations: int) -> dict[str, Any]:
    site = web.Application()

    async def article(request: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html")

    site.router.add_get("/article", article)
    runner = web.AppRunner(site)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/article"
    from openclaw_browser import plugin

    def new_app() -> App:
        return App(load_config(), plugins=[plugin], entry_points=False)

    launch_times = []
    for number in range(launches):
        async with new_app() as app:
            tool, services = _browser_tool(app), app.services
            started = time.perf_counter()
            await _call(tool, "bench", services, action="evaluate", script="1")
            launch_times.append(time.perf_counter() - started)
        print(f"launch {number + 1}/{launches}: {launch_times[-1] * 1000:.0f} ms", file=sys.stderr)

    async with new_app() as app:
        tool, services = _browser_tool(app), app.services
        await asyncio.sleep(2)
        before = memory()
        await _call(tool, "bench", services, action="navigate", url=url)  # launch + warm-up
        warm, fresh = [], []
        for _ in range(navigations):
            started = time.perf_counter()
            text = await _call(tool, "bench", services, action="navigate", url=url)
            warm.append(time.perf_counter() - started)
        assert "amphidromic point" in text
        await asyncio.sleep(2)
        idle = memory()
        for number in range(navigations):
            started = time.perf_counter()
            await _call(tool, f"bench-{number}", services, action="navigate", url=url)
            fresh.append(time.perf_counter() - started)
        await asyncio.sleep(2)
        idle_many = memory()
    await runner.cleanup()
    return {
        "launch_s": launch_times,
        "navigate_s": warm,
        "navigate_new_session_s": fresh,
        "memory_before_launch": before,
        "memory_idle": idle,
        "memory_idle_many_sessions": idle_many,
        "sessions": min(navigations + 1, BrowserSettings().max_sessions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--navigations", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["OPENCLAW_HOME"] = home
        for name in ("OPENCLAW_MODEL", "OPENCLAW_CONFIG", "OPENCLAW_LOAD_PLUGINS"):
            os.environ.pop(name, None)
        config = {"agent": {"model": "none/none"}, "sandbox": {"allowed_hosts": ["127.0.0.1"]}}
        Path(home, "openclaw.json").write_text(json.dumps(config))
        figures = asyncio.run(run(options.launches, options.navigations))
    print()
    print(f"{'browser launch (first call)':32} {_ms(figures['launch_s'])}")
    print(f"{'navigate, same session':32} {_ms(figures['navigate_s'])}")
    print(f"{'navigate, new session (context)':32} {_ms(figures['navigate_new_session_s'])}")
    print()
    print(f"{'memory':40} {'procs':>5} {'RSS MB':>8} {'PSS MB':>8}")
    rows = (
        ("before launch", "memory_before_launch"),
        ("idle, 1 session", "memory_idle"),
        (f"idle, {figures['sessions']} sessions", "memory_idle_many_sessions"),
    )
    for label, key in rows:
        total = [0, 0, 0]
        for group, (count, rss, pss) in figures[key].items():
            if count:
                print(f"  {label + ': ' + group:38} {count:5} {rss / 1024:8.1f} {pss / 1024:8.1f}")
            total = [total[0] + count, total[1] + rss, total[2] + pss]
        print(
            f"  {label + ': total':38} {total[0]:5} {total[1] / 1024:8.1f} {total[2] / 1024:8.1f}"
        )
    if options.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
