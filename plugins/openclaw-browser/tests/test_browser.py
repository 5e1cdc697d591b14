"""The browser tool with the real Debian Chromium against pages served on 127.0.0.1, driven
through the kernel by the scripted model: what each action returns, the SSRF guard (file://,
private addresses, redirects and sub-requests to an internal server), timeouts, sessions,
idle close and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openclaw_browser.browser_tool import png_size
from openclaw_browser.discovery import find_browser

from openclaw.tools import ToolError


async def test_navigate_returns_visible_text_title_and_final_url(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (page,) = await ask(
            app, ("browser", {"action": "navigate", "url": f"{site.base}/to-article"})
        )
    assert not page.is_error, page.text
    header, _, text = page.text.partition("\n\n")
    assert header == (
        f"Title: Tides of the North Sea\n"
        f"URL: {site.base}/article (redirected from {site.base}/to-article)"
    )
    assert "semi-diurnal tide" in text and "Denmark" in text
    assert "Computed by script: 42" in text  # the page's own script ran
    assert "do-not-show-this" not in text and "hidden-style-marker" not in text


async def test_navigate_caps_the_text(openclaw_make_app, ask, site, loopback, browser_plugin):
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (page,) = await ask(
            app,
            ("browser", {"action": "navigate", "url": f"{site.base}/long", "max_chars": 200}),
        )
    text = page.text.partition("\n\n")[2]
    assert text.startswith("wave wave")
    assert text.endswith("\n[... 9799 more characters not shown]")
    assert len(text) < 260


async def test_a_huge_title_or_url_does_not_crowd_out_the_page_text(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    long_url = f"{site.base}/long-title?q=" + "a" * 5_000
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (page,) = await ask(app, ("browser", {"action": "navigate", "url": long_url}))
    head, _, text = page.text.partition("\n\n")
    assert text == "calm water"
    assert head.startswith("Title: swell swell") and len(head) < 1000
    assert "more characters not shown" in head


async def test_screenshot_is_a_png_of_the_viewport_or_the_full_page(
    openclaw_make_app, ask, site, loopback, browser_plugin, openclaw_home
):
    config = loopback(width=800, height=600)
    async with openclaw_make_app(config, plugins=[browser_plugin]) as app:
        (view,) = await ask(app, ("browser", {"action": "screenshot", "url": f"{site.base}/tall"}))
        full, wrong = await ask(
            app,
            ("browser", {"action": "screenshot", "full_page": True, "path": "shots/tall.png"}),
            ("browser", {"action": "screenshot", "path": "shots/tall.jpg"}),
        )
        workspace = app.config.workspace
    assert not view.is_error, view.text
    saved = view.text.rsplit(" to ", 1)[1]
    assert saved.startswith("screenshots/screenshot-") and saved.endswith(".png")
    assert png_size((workspace / saved).read_bytes()) == (800, 600)
    assert "800x600 PNG screenshot" in view.text
    assert not full.is_error, full.text
    assert png_size((workspace / "shots/tall.png").read_bytes()) == (800, 2400)
    assert wrong.is_error and "ending in .png" in wrong.text


async def test_evaluate_returns_the_result_as_json(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    count = "document.querySelectorAll('li').length * 7"
    function = "() => ({title: document.title, sum: [1, 2, 3].reduce((a, b) => a + b)})"
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (number,) = await ask(
            app, ("browser", {"action": "evaluate", "url": f"{site.base}/article", "script": count})
        )
        (value,) = await ask(app, ("browser", {"action": "evaluate", "script": function}))
        (broken,) = await ask(app, ("browser", {"action": "evaluate", "script": "noSuchThing.x"}))
        loop = "(() => { const tide = {}; tide.self = tide; return tide; })()"
        (circular,) = await ask(app, ("browser", {"action": "evaluate", "script": loop}))
    assert number.text == "21"
    assert value.text == '{"title": "Tides of the North Sea", "sum": 6}'
    assert broken.is_error and "ReferenceError: noSuchThing is not defined" in broken.text
    assert circular.is_error
    assert circular.text == (
        "Error: the script's result refers to itself and cannot be shown as JSON: "
        "return a part of it"
    )


async def test_pages_a_site_opens_are_closed_at_once(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    # a popup (or a target=_blank link) would run on unseen until the session ends
    popup = (
        "() => { const opened = window.open('/article');"
        " return new Promise(done => setTimeout(() => done(opened.closed), 1000)); }"
    )
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (closed,) = await ask(
            app, ("browser", {"action": "evaluate", "url": f"{site.base}/tall", "script": popup})
        )
        (still,) = await ask(app, ("browser", {"action": "evaluate", "script": "document.title"}))
    assert closed.text == "true"
    assert still.text == '"Tall"'  # the conversation's own page is untouched


async def test_a_form_is_filled_and_submitted(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (posted,) = await ask(
            app,
            ("browser", {"action": "navigate", "url": f"{site.base}/form"}),
        )
        (posted,) = await ask(
            app,
            (
                "browser",
                {
                    "action": "type",
                    "selector": "input[name=q]",
                    "text": "spring tides",
                    "submit": True,
                },
            ),
        )
        (filled,) = await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/form"}))
        (filled,) = await ask(
            app, ("browser", {"action": "type", "selector": "#station", "text": "Dover"})
        )
        (clicked,) = await ask(app, ("browser", {"action": "click", "selector": "#go"}))
    assert not posted.is_error, posted.text
    assert ("POST", "/search", {"q": "spring tides", "port": "Hull"}) in site.requests
    assert "You searched for spring tides at Hull" in posted.text
    assert filled.text == "Typed 5 characters into '#station'."
    assert ("GET", "/lookup", {"station": "Dover"}) in site.requests
    assert "Station Dover: high water 14:02" in clicked.text
    assert f"URL: {site.base}/lookup?station=Dover" in clicked.text


async def test_a_page_that_never_answers_times_out_and_the_browser_lives_on(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    async with openclaw_make_app(loopback(timeout=1), plugins=[browser_plugin]) as app:
        started = time.perf_counter()
        (hung,) = await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/hang"}))
        elapsed = time.perf_counter() - started
        (half,) = await ask(
            app, ("browser", {"action": "navigate", "url": f"{site.base}/slow-image"})
        )
        (fine,) = await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/article"}))
    assert hung.is_error
    assert hung.text == (
        f"Error: loading {site.base}/hang timed out after 1s (the page never answered); "
        "the browser is still usable"
    )
    assert elapsed < 8
    # the document came but an image never does: the text, with a note, not an error
    assert not half.is_error, half.text
    assert "[the page had not finished loading after 1s" in half.text
    assert "The text is here." in half.text
    assert not fine.is_error and "semi-diurnal" in fine.text


async def test_a_script_that_never_ends_closes_only_that_page(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    async with openclaw_make_app(loopback(timeout=1), plugins=[browser_plugin]) as app:
        (spin,) = await ask(
            app,
            (
                "browser",
                {
                    "action": "evaluate",
                    "url": f"{site.base}/article",
                    "script": "() => { while (true) {} }",
                },
            ),
        )
        (after,) = await ask(
            app, ("browser", {"action": "evaluate", "url": f"{site.base}/article", "script": "1+1"})
        )
    assert spin.is_error and "did not finish within 1s" in spin.text
    assert after.text == "2"


async def test_file_urls_and_private_addresses_are_refused_by_default(
    openclaw_make_app, ask, site, browser_plugin, chromium_processes
):
    async with openclaw_make_app(plugins=[browser_plugin]) as app:
        results = await ask(
            app,
            ("browser", {"action": "navigate", "url": "file:///etc/passwd"}),
            ("browser", {"action": "navigate", "url": f"{site.base}/article"}),
            ("browser", {"action": "navigate", "url": "http://169.254.169.254/latest/"}),
            ("browser", {"action": "screenshot", "url": "http://10.1.2.3/"}),
        )
        assert chromium_processes() == []  # refused before a browser was needed
    scheme, loopback, metadata, private = results
    assert all(result.is_error for result in results)
    assert "blocked by sandbox rule 'URL scheme'" in scheme.text
    assert "127.0.0.1, a loopback address" in loopback.text
    assert "169.254.169.254, a link-local address" in metadata.text
    assert "10.1.2.3, a private address" in private.text
    assert site.requests == []


async def test_redirects_and_sub_requests_cannot_reach_an_internal_server(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    """127.0.0.1 is allowed; the "internal" server on 127.0.0.2 is not, and must see nothing."""
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        redirected, metadata = await ask(
            app,
            ("browser", {"action": "navigate", "url": f"{site.base}/to-internal"}),
            ("browser", {"action": "navigate", "url": f"{site.base}/to-metadata"}),
        )
        (sneaky,) = await ask(
            app, ("browser", {"action": "navigate", "url": f"{site.base}/pulls-internal"})
        )
        (fetched,) = await ask(
            app,
            (
                "browser",
                {
                    "action": "evaluate",
                    "script": f"fetch('{site.internal}/api').then(r => r.status, e => 'failed')",
                },
            ),
        )
    assert redirected.is_error
    assert f"{site.internal}/secret was refused" in redirected.text
    assert "127.0.0.2, a loopback address" in redirected.text
    assert metadata.is_error and "169.254.169.254, a link-local address" in metadata.text
    assert not sneaky.is_error and "public page" in sneaky.text
    assert fetched.text in ('"failed"', "403")
    assert site.internal_hits == []


async def test_each_session_gets_its_own_context(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    store = "localStorage.setItem('tide', 'high'); localStorage.getItem('tide')"
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        (first,) = await ask(
            app,
            ("browser", {"action": "evaluate", "url": f"{site.base}/article", "script": store}),
            session_key="tg:main:1:1",
        )
        (other,) = await ask(
            app,
            (
                "browser",
                {
                    "action": "evaluate",
                    "url": f"{site.base}/article",
                    "script": "localStorage.getItem('tide')",
                },
            ),
            session_key="tg:main:2:2",
        )
        (same,) = await ask(
            app,
            ("browser", {"action": "evaluate", "script": "localStorage.getItem('tide')"}),
            session_key="tg:main:1:1",
        )
    assert (first.text, other.text, same.text) == ('"high"', "null", '"high"')


async def test_past_max_sessions_the_least_recently_used_page_is_closed(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    store = "localStorage.setItem('tide', 'low'); localStorage.getItem('tide')"
    read = "localStorage.getItem('tide')"
    async with openclaw_make_app(loopback(max_sessions=2), plugins=[browser_plugin]) as app:
        for key in ("a", "b"):
            await ask(
                app,
                ("browser", {"action": "evaluate", "url": f"{site.base}/article", "script": store}),
                session_key=f"tg:main:{key}:{key}",
            )
        (b_kept,) = await ask(
            app, ("browser", {"action": "evaluate", "script": read}), session_key="tg:main:b:b"
        )
        await ask(
            app,
            ("browser", {"action": "navigate", "url": f"{site.base}/tall"}),
            session_key="tg:main:c:c",
        )  # a third session: a's page, the least recently used, is closed
        (a_gone,) = await ask(
            app,
            ("browser", {"action": "evaluate", "url": f"{site.base}/article", "script": read}),
            session_key="tg:main:a:a",
        )
    assert b_kept.text == '"low"'
    assert a_gone.text == "null"


async def test_the_idle_browser_closes_and_comes_back(
    openclaw_make_app, ask, site, loopback, browser_plugin, chromium_processes
):
    async with openclaw_make_app(loopback(idle_timeout=0.5), plugins=[browser_plugin]) as app:
        (first,) = await ask(
            app, ("browser", {"action": "navigate", "url": f"{site.base}/article"})
        )
        assert chromium_processes()
        for _ in range(40):
            await asyncio.sleep(0.1)
            if not chromium_processes():
                break
        assert chromium_processes() == []
        (again,) = await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/tall"}))
        assert chromium_processes()
    assert not first.is_error and not again.is_error and "tall page" in again.text


async def test_a_killed_browser_is_started_again(
    openclaw_make_app, ask, site, loopback, browser_plugin, chromium_processes
):
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/article"}))
        for pid in chromium_processes():  # this test's own browser
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            await asyncio.sleep(0.1)
            if not chromium_processes():
                break
        (again,) = await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/tall"}))
    assert not again.is_error, again.text
    assert "tall page" in again.text


async def test_shutdown_closes_the_browser(
    openclaw_make_app, ask, site, loopback, browser_plugin, chromium_processes
):
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/article"}))
        assert chromium_processes()
    for _ in range(20):
        if not chromium_processes():
            break
        await asyncio.sleep(0.1)
    assert chromium_processes() == []


async def test_bad_arguments_are_error_results(
    openclaw_make_app, ask, site, loopback, browser_plugin
):
    async with openclaw_make_app(loopback(timeout=1), plugins=[browser_plugin]) as app:
        results = await ask(
            app,
            ("browser", {"action": "fly"}),
            ("browser", {"action": "navigate"}),
            ("browser", {"action": "type", "selector": "#q"}),
            ("browser", {"action": "navigate", "url": "not a url"}),
        )
        (blank,) = await ask(app, ("browser", {"action": "click", "selector": "#go"}))
        (missing,) = await ask(
            app, ("browser", {"action": "click", "url": f"{site.base}/form", "selector": "#nope"})
        )
        (bad_selector,) = await ask(app, ("browser", {"action": "click", "selector": "##"}))
    fly, no_url, no_text, not_url = results
    assert fly.is_error and "invalid arguments for browser: action" in fly.text
    assert no_url.text == "Error: navigate needs a url"
    assert no_text.text == "Error: type needs the text to type"
    assert not_url.is_error and "URL scheme" in not_url.text
    assert blank.text == "Error: nothing to click: navigate to a page first"
    assert missing.text == "Error: click timed out after 1s waiting for '#nope'"
    assert bad_selector.is_error and bad_selector.text.startswith("Error: click failed:")


async def test_a_missing_browser_is_a_clear_error(
    openclaw_make_app, ask, site, loopback, browser_plugin, tmp_path
):
    config = loopback(executable=str(tmp_path / "no-chrome"))
    async with openclaw_make_app(config, plugins=[browser_plugin]) as app:
        (result,) = await ask(app, ("browser", {"action": "navigate", "url": f"{site.base}/tall"}))
    assert result.is_error and "tools.browser.executable" in result.text


def test_discovery_finds_the_system_chromium():
    assert find_browser() == Path("/usr/bin/chromium")
    assert find_browser("chromium") == Path("/usr/bin/chromium")
    with pytest.raises(ToolError, match="not an executable file"):
        find_browser("/nonexistent/chrome")


def test_loading_the_plugin_imports_no_playwright():
    code = (
        "import sys; from openclaw.app import App; from openclaw.config import Config; "
        "from openclaw_browser import plugin; App(Config(), plugins=[plugin], entry_points=False); "
        "print(sorted(m for m in ('playwright', 'openai') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


async def test_a_screenshot_is_not_written_through_a_symlink(
    openclaw_make_app, ask, site, loopback, browser_plugin, openclaw_home
):
    async with openclaw_make_app(loopback(), plugins=[browser_plugin]) as app:
        workspace = app.config.workspace
        workspace.mkdir(parents=True, exist_ok=True)
        (workspace / "shots").symlink_to(openclaw_home)
        (linked,) = await ask(
            app,
            (
                "browser",
                {"action": "screenshot", "url": f"{site.base}/tall", "path": "shots/x.png"},
            ),
        )
    assert linked.is_error and "blocked by sandbox rule 'symlink'" in linked.text
    assert not (openclaw_home / "x.png").exists()
