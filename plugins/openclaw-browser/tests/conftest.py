"""The local web the browser tests browse: a site on 127.0.0.1 (pages, a form, redirects, a page
that never answers) and an "internal" server on 127.0.0.2 that no request may ever reach, plus
helpers to run tool calls through the kernel and to find the Chromium processes."""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openclaw_browser import plugin

from openclaw.messages import Message

ARTICLE = """<!DOCTYPE html>
<html><head><title>Tides of the North Sea</title>
<style>.hidden-style-marker { color: red; }</style></head>
<body>
<h1>Tides of the North Sea</h1>
<p>The North Sea has a semi-diurnal tide: two high waters every lunar day.</p>
<p id="computed"></p>
<ul><li>Norway</li><li>Denmark</li><li>Netherlands</li></ul>
<script>
var trackerMarker = "do-not-show-this";
document.getElementById("computed").textContent = "Computed by script: " + (6 * 7);
</script>
</body></html>
"""
TALL = """<!DOCTYPE html><html><head><title>Tall</title></head>
<body style="margin:0"><div style="height:2400px;background:#3060c0">tall page</div></body></html>
"""
FORM = """<!DOCTYPE html><html><head><title>Search the tides</title></head><body>
<form method="post" action="/search"><input name="q"><input type="hidden" name="port" value="Hull">
</form>
<form method="get" action="/lookup"><input id="station" name="station">
<button id="go" type="submit">Look up</button></form>
</body></html>
"""


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Site:
    """What the pages were asked for, and the servers' addresses."""

    def __init__(self) -> None:
        self.base = ""
        self.internal = ""
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.internal_hits: list[str] = []
        self.release = asyncio.Event()  # set at teardown: the hanging handlers return

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/article", self.page(ARTICLE))
        app.router.add_get("/tall", self.page(TALL))
        app.router.add_get("/long", self.page("<title>Long</title><p>" + "wave " * 2000 + "</p>"))
        long_title = "<title>" + "swell " * 20_000 + "</title><p>calm water</p>"
        app.router.add_get("/long-title", self.page(long_title))
        app.router.add_get("/form", self.page(FORM))
        app.router.add_post("/search", self.search)
        app.router.add_get("/lookup", self.lookup)
        app.router.add_get("/to-article", self.redirect(lambda: "/article"))
        app.router.add_get("/to-internal", self.redirect(lambda: f"{self.internal}/secret"))
        app.router.add_get("/to-metadata", self.redirect(lambda: "http://169.254.169.254/x"))
        app.router.add_get("/pulls-internal", self.pulls_internal)
        app.router.add_get("/hang", self.hang)
        app.router.add_get("/slow-image", self.slow_image)
        app.router.add_get("/pixel.png", self.hang)
        app.router.add_get("/red.png", self.red_png)
        app.router.add_get("/notes.txt", self.page("just text, no picture", "text/plain"))
        return app

    def page(self, html: str, content_type: str = "text/html") -> Any:
        async def handler(request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path_qs, {}))
            return web.Response(text=html, content_type=content_type)

        return handler

    def redirect(self, target: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path_qs, {}))
            raise web.HTTPFound(target())

        return handler

    async def search(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(("POST", request.path, form))
        html = (
            f"<title>Results</title><p>You searched for {form.get('q')} at {form.get('port')}</p>"
        )
        return web.Response(text=html, content_type="text/html")

    async def lookup(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append(("GET", request.path, query))
        html = f"<title>Station</title><p>Station {query.get('station')}: high water 14:02</p>"
        return web.Response(text=html, content_type="text/html")

    async def pulls_internal(self, request: web.Request) -> web.Response:
        html = (
            "<title>Sneaky</title><p>public page</p>"
            f'<img src="{self.internal}/pixel"><script>fetch("{self.internal}/api")'
            '.catch(() => {}); new WebSocket("' + self.internal.replace("http", "ws") + '/ws");'
            "</script>"
        )
        return web.Response(text=html, content_type="text/html")

    async def hang(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path, {}))
        await self.release.wait()
        return web.Response(text="too late", content_type="text/plain")

    async def slow_image(self, request: web.Request) -> web.Response:
        html = '<title>Half loaded</title><p>The text is here.</p><img src="/pixel.png">'
        return web.Response(text=html, content_type="text/html")

    async def red_png(self, request: web.Request) -> web.Response:
        # a wrong Content-Type on purpose: the image tool judges the bytes
        return web.Response(body=make_png(4, 3), content_type="application/octet-stream")

    async def internal_app_handler(self, request: web.Request) -> web.Response:
        self.internal_hits.append(request.path)
        return web.Response(text="internal secret", content_type="text/plain")


async def _serve(app: web.Application, host: str) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    return runner, f"http://{host}:{runner.addresses[0][1]}"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()
    internal = web.Application()
    internal.router.add_route("*", "/{tail:.*}", state.internal_app_handler)
    runners = []
    for app, host, attribute in (
        (state.app(), "127.0.0.1", "base"),
        (internal, "127.0.0.2", "internal"),
    ):
        runner, url = await _serve(app, host)
        runners.append(runner)
        setattr(state, attribute, url)
    yield state
    state.release.set()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def no_vision_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image tool picks its model from these: tests choose them explicitly."""
    for name in (
        "OPENCLAW_VISION_BASE_URL",
        "OPENCLAW_VISION_API_KEY",
        "OPENCLAW_VISION_MODEL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENROUTER_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def loopback() -> Any:
    """`loopback(**browser_settings)`: a config allowing 127.0.0.1 only (the tests serve there;
    the SSRF guard refuses it by default) with those `tools.browser` settings."""

    def config(**browser: Any) -> dict[str, Any]:
        return {"sandbox": {"allowed_hosts": ["127.0.0.1"]}, "tools": {"browser": browser}}

    return config


def tool_results(openclaw_mock_model: Any) -> list[Message]:
    """The tool results of the last turn's last round."""
    messages = openclaw_mock_model.requests[-1].messages
    last_call = max(i for i, m in enumerate(messages) if m.role == "assistant")
    return [m for m in messages[last_call + 1 :] if m.role == "tool"]


@pytest.fixture
def ask(openclaw_mock_model: Any) -> Any:
    """`await ask(app, (tool, arguments), ..., session_key=None)`: one turn of the running
    `app` in which the model makes those calls in parallel; returns their results."""

    async def turn(app: Any, *calls: tuple[str, dict[str, Any]], **kw: Any) -> list[Message]:
        openclaw_mock_model.enqueue(tool_calls=list(calls)).enqueue("done")
        await app.ask("go", **kw)
        results = tool_results(openclaw_mock_model)
        assert len(results) == len(calls)
        return results

    return turn


@pytest.fixture
def browser_plugin() -> Any:
    return plugin


@pytest.fixture
def png() -> Any:
    return make_png


@pytest.fixture
def chromium_processes() -> Any:
    return chromium_pids


def chromium_pids() -> list[int]:
    """Chromium processes descending from this test process."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
        names[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
    mine = os.getpid()

    def descends(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == mine:
                return True
        return False

    return [pid for pid, name in names.items() if "chrom" in name and descends(pid)]
