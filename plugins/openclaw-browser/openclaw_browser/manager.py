"""One browser per App, launched on first use: a fresh browser context per session, pages
closed after `idle_timeout`, the browser after that too, everything closed at App shutdown.

Playwright is imported on first use only (the import rule). Chromium runs with the flags of
TESTING.md and sends every connection through the SSRF-guarding proxy (`guard_proxy`);
`<-loopback>` makes loopback addresses go through it too (Chromium bypasses proxies for them
by default), and WebRTC may not use UDP outside the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.sandbox import SandboxPolicy
from openclaw.tools import ToolError
from openclaw_browser.discovery import find_browser
from openclaw_browser.guard_proxy import GuardProxy
from openclaw_browser.settings import BrowserSettings

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Playwright

log = logging.getLogger("openclaw.browser")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
CLOSE_TIMEOUT = 10.0


@dataclass
class Session:
    """A session's browser context and its page; `lock` runs one action at a time."""

    context: BrowserContext
    page: Page
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)


class BrowserManager:
    """The App's browser: `session(key)` launches it if needed; `close()` at shutdown."""

    def __init__(self, settings: BrowserSettings, policy: SandboxPolicy) -> None:
        self.settings = settings
        self.policy = policy
        self.proxy: GuardProxy | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._sessions: dict[str, Session] = {}
        self._launching = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None
        self._last_used = time.monotonic()

    @property
    def running(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def session(self, key: str) -> Session:
        """The session's context and page, creating them (and launching the browser) if needed.

        Under the launch lock, so that the idle reaper never closes the browser between its
        launch and the session's first page."""
        async with self._launching:
            await self._ensure_browser()
            assert self._browser is not None
            session = self._sessions.get(key)
            if session is not None and session.page.is_closed():
                await self.discard(key)
                session = None
            if session is None:
                await self._make_room()
                context = await self._browser.new_context(
                    viewport={"width": self.settings.width, "height": self.settings.height},
                    accept_downloads=False,
                    service_workers="block",
                )
                context.set_default_timeout(self.settings.timeout * 1000)
                page = await context.new_page()
                context.on("page", lambda opened, own=page: self._close_other(opened, own))
                # a crashed renderer: the next call gets a fresh page
                page.on("crash", lambda _: asyncio.ensure_future(self.discard(key)))
                session = self._sessions[key] = Session(context, page)
            session.last_used = self._last_used = time.monotonic()
            return session

    @staticmethod
    async def _close_other(opened: Page, own: Page) -> None:
        """Close a page a site opened (a popup, a target=_blank link): the tool never shows
        it, and it would run on unseen until the session ends. (Playwright runs an async
        event handler as a task of its own.)"""
        if opened is not own:
            with contextlib.suppress(Exception):
                await opened.close()

    async def _make_room(self) -> None:
        """Close the least recently used idle sessions beyond `max_sessions - 1`."""
        idle = sorted(
            (session.last_used, key)
            for key, session in self._sessions.items()
            if not session.lock.locked()
        )
        excess = len(self._sessions) - self.settings.max_sessions + 1
        for _, key in idle[: max(excess, 0)]:
            await self.discard(key)

    async def discard(self, key: str) -> None:
        """Close a session's context (after a hung script, or when idle)."""
        session = self._sessions.pop(key, None)
        if session is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await session.context.close()

    async def _ensure_browser(self) -> None:
        """Launch the browser unless it runs (the caller holds the launch lock)."""
        if not self.running:
            await self._stop_browser()  # what is left of a crashed browser
            executable = find_browser(self.settings.executable)
            self.proxy = await GuardProxy(self.policy).start()
            try:
                from playwright.async_api import async_playwright

                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=str(executable),
                    headless=True,
                    args=[*CHROMIUM_FLAGS, *self.settings.extra_args],
                    proxy={"server": self.proxy.url, "bypass": "<-loopback>"},
                    timeout=self.settings.launch_timeout * 1000,
                )
            except Exception as exc:  # a Playwright error, or its driver missing
                await self._stop_browser()
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
                raise ToolError(f"could not start the browser {executable}: {first_line}") from None
            if self._reaper is not None:
                self._reaper.cancel()
            self._reaper = asyncio.create_task(self._reap(), name="openclaw-browser-idle")
            log.info("browser started: %s", executable)

    async def _reap(self) -> None:
        """Close idle sessions, then the idle browser; ends when the browser is closed."""
        idle = self.settings.idle_timeout
        while self.running:
            await asyncio.sleep(min(30.0, idle / 2))
            now = time.monotonic()
            for key, session in list(self._sessions.items()):
                if now - session.last_used > idle and not session.lock.locked():
                    await self.discard(key)
            if not self._sessions and now - self._last_used > idle:
                async with self._launching:
                    if self._sessions or time.monotonic() - self._last_used <= idle:
                        continue
                    self._reaper = None  # this task: `close()` must not cancel it mid-way
                    await self._stop_browser()
                    log.info("browser closed after %gs idle", idle)
                    return

    async def _stop_browser(self) -> None:
        for key in list(self._sessions):
            await self.discard(key)
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        proxy, self.proxy = self.proxy, None
        if browser is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await playwright.stop()
        if proxy is not None:
            await proxy.close()

    async def close(self) -> None:
        """Close everything (App shutdown)."""
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
        async with self._launching:
            await self._stop_browser()
