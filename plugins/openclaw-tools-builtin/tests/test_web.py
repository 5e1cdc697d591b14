"""web_search and web_fetch driven through the kernel by the scripted model, against a local
aiohttp server: a saved DuckDuckGo results page, pages of each content type, redirects, a slow
page, and the SSRF refusals (loopback without the allowance, metadata address, file://)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openclaw_tools_builtin.web import WebFetchSettings, fetch

from openclaw.messages import Message
from openclaw.sandbox import SandboxDenied, SandboxPolicy

DATA = Path(__file__).parent / "data"
ARTICLE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tides of the North Sea</title></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/shop">Shop</a></nav>
<article>
<h1>Tides of the North Sea</h1>
<p>The North Sea has a semi-diurnal tide: two high waters and two low waters every lunar day,
which is about twenty-four hours and fifty minutes long.</p>
<p>Amphidromic points, where the tidal range is nearly zero, sit off the coasts of Norway,
Denmark and the Netherlands, and the tide wave turns around them anticlockwise.</p>
<p>Spring tides follow new and full moon by a day or two; neap tides follow the quarters.</p>
</article>
<script>var tracker = "do-not-show-this";</script>
<footer>© 2026 Sea Facts · Cookie settings</footer>
</body></html>
"""


class Site:
    """The local web: what the tools fetch, and what the search endpoint was asked."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.base = ""
        self.search_up = True

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/html/", self.search)
        app.router.add_get("/article", self.article)
        app.router.add_get("/notes.txt", self.plain)
        app.router.add_get("/data.json", self.json)
        app.router.add_get("/logo.png", self.image)
        app.router.add_get("/huge", self.huge)
        app.router.add_get("/to-article", self.redirect("/article"))
        app.router.add_get(
            "/to-metadata", self.redirect("http://169.254.169.254/latest/meta-data/")
        )
        app.router.add_get("/to-private", self.redirect("http://10.0.0.1/admin"))
        app.router.add_get("/slow", self.slow)
        return app

    async def search(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.queries.append(str(form.get("q")))
        if not self.search_up:
            return web.Response(status=503, text="Service Unavailable")
        page = (DATA / "duckduckgo_results.html").read_text(encoding="utf-8")
        return web.Response(text=page, content_type="text/html")

    async def article(self, request: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html")

    async def plain(self, request: web.Request) -> web.Response:
        return web.Response(text="line one\nline two: ünïcödé\n", content_type="text/plain")

    async def json(self, request: web.Request) -> web.Response:
        return web.json_response({"tide": "high", "height_m": 3.2})

    async def image(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(2000), content_type="image/png")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """16 MB of HTML, streamed: the reader must stop at its cap, not wait for the end."""
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await response.prepare(request)
        await response.write(b"<html><head><title>Huge</title></head><body>")
        paragraph = b"<p>" + b"wave " * 200 + b"</p>\n"
        try:
            for _ in range(16 * 1024 * 1024 // len(paragraph)):
                await response.write(paragraph)
            await response.write(b"<p>THE-END-MARKER</p></body></html>")
        except (ConnectionResetError, ConnectionError):
            pass  # the client hung up at its cap, as it should
        return response

    def redirect(self, target: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(target)

        return handler

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="too late", content_type="text/plain")


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()
    runner = web.AppRunner(state.app())
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def config_for(site: Site, **tools: Any) -> dict[str, Any]:
    return {
        "providers": {"duckduckgo": {"endpoint": f"{site.base}/html/"}},
        "sandbox": {"allowed_hosts": ["127.0.0.1"]},
        "tools": tools,
    }


async def run_calls(
    openclaw_make_app: Any,
    openclaw_mock_model: Any,
    calls: list[tuple[str, dict[str, Any]]],
    config: dict,
) -> list[Message]:
    """One turn in which the model makes `calls`; the tool results it was sent back."""
    openclaw_mock_model.enqueue(tool_calls=calls).enqueue("done")
    async with openclaw_make_app(entry_points=True, config=config) as app:
        await app.ask("go")
    messages = openclaw_mock_model.requests[-1].messages
    last_call = max(i for i, m in enumerate(messages) if m.role == "assistant")
    results = messages[last_call + 1 :]
    assert [m.role for m in results] == ["tool"] * len(calls)
    return results


# --- web_search --------------------------------------------------------------------------------


async def test_search_parses_results_unwraps_redirects_and_skips_ads(
    openclaw_make_app, openclaw_mock_model, site
):
    (result,) = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [("web_search", {"query": "python asyncio timeout", "max_results": 3})],
        config_for(site),
    )
    assert not result.is_error, result.text
    assert site.queries == ["python asyncio timeout"]
    text = result.text
    assert text.startswith("1. Coroutines and Tasks — Python 3.13 documentation\n")
    assert "   https://docs.python.org/3/library/asyncio-task.html#timeouts\n" in text
    assert "asyncio.timeout(delay) returns a context manager" in text
    # the encoded query string of the target survives unwrapping
    assert "stackoverflow.com/questions/28609534/python-asyncio-force-timeout?q=a%26b\n" in text
    assert "3. Asyncio Timeouts in Python - Super Fast Python" in text
    assert "4." not in text  # max_results
    assert "Hosting" not in text and "y.js" not in text and "duckduckgo.com" not in text


async def test_search_endpoint_down_is_a_clear_error(openclaw_make_app, openclaw_mock_model, site):
    site.search_up = False
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/html/"
    down = {"providers": {"duckduckgo": {"endpoint": closed, "timeout": 5}}}
    results = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [("web_search", {"query": "tides"})],
        config_for(site),
    )
    openclaw_mock_model.requests.clear()
    results += await run_calls(
        openclaw_make_app, openclaw_mock_model, [("web_search", {"query": "tides"})], down
    )
    unavailable, refused = results
    assert unavailable.is_error and refused.is_error
    assert "web search failed: duckduckgo:" in unavailable.text
    assert "answered HTTP 503" in unavailable.text
    assert f"cannot reach {closed}" in refused.text


async def test_search_provider_and_arguments_are_validated(
    openclaw_make_app, openclaw_mock_model, site
):
    config = config_for(site, web_search={"provider": "bing"})
    unknown, too_many = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [("web_search", {"query": "x"}), ("web_search", {"query": "x", "max_results": 50})],
        config,
    )
    assert unknown.is_error and "unknown provider 'bing'" in unknown.text
    assert "duckduckgo" in unknown.text  # the known names are listed
    assert too_many.is_error and "max_results" in too_many.text


# --- web_fetch ---------------------------------------------------------------------------------


async def test_fetch_html_gives_title_and_readable_text(
    openclaw_make_app, openclaw_mock_model, site
):
    html, moved = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [
            ("web_fetch", {"url": f"{site.base}/article"}),
            ("web_fetch", {"url": f"{site.base}/to-article"}),
        ],
        config_for(site),
    )
    assert not html.is_error, html.text
    assert html.text.startswith(f"Title: Tides of the North Sea\nURL: {site.base}/article\n\n")
    assert "Amphidromic points" in html.text and "semi-diurnal" in html.text
    assert "do-not-show-this" not in html.text and "<p>" not in html.text
    assert not moved.is_error, moved.text
    assert f"URL: {site.base}/article (redirected from {site.base}/to-article)" in moved.text


async def test_fetch_text_and_json_and_refuse_binary(openclaw_make_app, openclaw_mock_model, site):
    plain, data, image = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [
            ("web_fetch", {"url": f"{site.base}/notes.txt"}),
            ("web_fetch", {"url": f"{site.base}/data.json"}),
            ("web_fetch", {"url": f"{site.base}/logo.png"}),
        ],
        config_for(site),
    )
    assert not plain.is_error and plain.text.endswith("line one\nline two: ünïcödé\n")
    assert not data.is_error and '{"tide": "high", "height_m": 3.2}' in data.text
    assert image.is_error
    assert "is image/png, not text" in image.text and "PNG" not in image.text


async def test_fetch_stops_reading_at_the_cap_and_max_chars(
    openclaw_make_app, openclaw_mock_model, site
):
    started = time.perf_counter()
    capped, short = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [
            ("web_fetch", {"url": f"{site.base}/huge", "max_chars": 100_000}),
            ("web_fetch", {"url": f"{site.base}/huge", "max_chars": 500}),
        ],
        {**config_for(site), "agent": {"tool_output_chars": 200_000}},
    )
    assert time.perf_counter() - started < 10  # did not read 16 MB
    assert not capped.is_error, capped.text[:300]
    assert "[page larger than 128 KB: only the start was read]" in capped.text
    assert "THE-END-MARKER" not in capped.text
    assert 100_000 < len(capped.text) < 140_000  # ~128 KB of text, not 16 MB
    assert "wave wave" in capped.text
    assert "more characters not shown]" in short.text
    assert len(short.text) < 800


async def test_fetch_times_out(openclaw_make_app, openclaw_mock_model, site):
    config = config_for(site, web_fetch={"timeout": 0.5})
    started = time.perf_counter()
    (slow,) = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [("web_fetch", {"url": f"{site.base}/slow"})],
        config,
    )
    assert time.perf_counter() - started < 4
    assert slow.is_error and f"fetching {site.base}/slow timed out after 0.5s" in slow.text


async def test_fetch_refuses_ssrf_targets(openclaw_make_app, openclaw_mock_model, site):
    calls = [
        ("web_fetch", {"url": f"{site.base}/to-metadata"}),
        ("web_fetch", {"url": f"{site.base}/to-private"}),
        ("web_fetch", {"url": "http://169.254.169.254/latest/meta-data/"}),
        ("web_fetch", {"url": "file:///etc/passwd"}),
        ("web_fetch", {"url": "ftp://127.0.0.1/"}),
    ]
    results = await run_calls(openclaw_make_app, openclaw_mock_model, calls, config_for(site))
    for (_, arguments), result in zip(calls, results, strict=True):
        assert result.is_error, (arguments, result.text)
        assert "root:" not in result.text
    to_metadata, to_private, metadata, file_url, ftp = (r.text for r in results)
    assert f"{site.base}/to-metadata redirects to http://169.254.169.254/" in to_metadata
    assert "169.254.169.254" in metadata
    assert f"{site.base}/to-private redirects to http://10.0.0.1/admin" in to_private
    assert "file" in file_url and "ftp" in ftp


async def test_loopback_is_refused_without_the_allowance(
    openclaw_make_app, openclaw_mock_model, site
):
    config = config_for(site)
    del config["sandbox"]
    (result,) = await run_calls(
        openclaw_make_app,
        openclaw_mock_model,
        [("web_fetch", {"url": f"{site.base}/article"})],
        config,
    )
    assert result.is_error and "127.0.0.1" in result.text
    assert "Tides" not in result.text


async def test_the_connection_itself_is_checked_against_dns_rebinding(site, tmp_path):
    """A name that passed the check and then resolves to an internal address (DNS rebinding)
    is still refused: web_fetch connects through the sandbox's guarded connector. Simulated by
    skipping the check before connecting, which is what a rebinding resolver achieves."""
    policy = SandboxPolicy(tmp_path)

    async def passes(url: str) -> None:
        return None

    policy.check_url_async = passes  # type: ignore[method-assign]
    with pytest.raises(SandboxDenied, match=r"127\.0\.0\.1, a loopback address"):
        await fetch(f"{site.base}/article", policy, WebFetchSettings())
