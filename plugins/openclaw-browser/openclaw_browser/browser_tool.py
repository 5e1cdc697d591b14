"""The `browser` tool: navigate, screenshot, evaluate, click and type in the session's page.

Each action runs under `tools.browser.timeout`; a failure (a refused URL, a timeout, a missing
element, a script error) is a ToolError the model reads, and the browser stays usable.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from openclaw.sandbox import SandboxPolicy, WorkspaceFiles
from openclaw.tools import Tool, ToolCallContext, ToolError, tool
from openclaw_browser.guard_proxy import PROXY_HEADER
from openclaw_browser.manager import BrowserManager, Session
from openclaw_browser.settings import BrowserSettings

if TYPE_CHECKING:
    from playwright.async_api import Page

PAGE_TEXT = "() => (document.body || document.documentElement || {innerText: ''}).innerText"
HEAD_CHARS = 300  # a title or URL shown above the page text: a page may make them huge
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


class BrowserArguments(BaseModel):
    action: Literal["navigate", "screenshot", "evaluate", "click", "type"] = Field(
        description="What to do in this conversation's browser page."
    )
    url: str | None = Field(
        None,
        description="navigate: the http(s) URL to open. Other actions: open it first.",
    )
    selector: str | None = Field(
        None, description="click / type: a CSS selector, e.g. 'input[name=q]' or 'text=Sign in'."
    )
    text: str | None = Field(None, description="type: the text to put in the field.")
    submit: bool = Field(False, description="type: press Enter afterwards (submits a form).")
    script: str | None = Field(
        None,
        description="evaluate: a JavaScript expression or function, e.g. "
        "'document.title' or '() => [...document.links].map(a => a.href)'.",
    )
    path: str | None = Field(
        None, description="screenshot: where to save the PNG in the workspace."
    )
    full_page: bool = Field(False, description="screenshot: the whole page, not just the view.")
    max_chars: int | None = Field(
        None, ge=200, le=200_000, description="Cap on the page text or script result returned."
    )


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters not shown]"


class BrowserTool:
    """The actions, bound to the App's browser manager and sandbox policy."""

    def __init__(
        self, manager: BrowserManager, policy: SandboxPolicy, settings: BrowserSettings
    ) -> None:
        self.manager = manager
        self.policy = policy
        self.settings = settings

    @property
    def _ms(self) -> float:
        return self.settings.timeout * 1000

    async def run(self, args: BrowserArguments, context: ToolCallContext) -> str:
        needs = {"click": "selector", "type": "selector", "evaluate": "script"}
        if args.action == "navigate" and not args.url:
            raise ToolError("navigate needs a url")
        if args.action in needs and not getattr(args, needs[args.action]):
            raise ToolError(f"{args.action} needs a {needs[args.action]}")
        if args.action == "type" and args.text is None:
            raise ToolError("type needs the text to type")
        if args.url:
            await self.policy.check_url_async(args.url)  # file://, private addresses: refused
        session = await self.manager.session(context.session_key)
        async with session.lock:
            if session.page.is_closed():  # a parallel call's hung script closed it
                raise ToolError("this conversation's page was just closed; call again")
            mark = self.manager.proxy.refused if self.manager.proxy else 0
            try:
                # Playwright's own timeouts fire first; this one catches a page so busy that
                # it no longer answers at all (a script looping after load)
                async with asyncio.timeout(2 * self.settings.timeout + 5):
                    return await self._act(args, session, context)
            except TimeoutError:
                what = f"the page stopped responding during {args.action}"
                raise await self._page_hung(context.session_key, what) from None
            except ToolError as exc:
                raise ToolError(f"{exc}{self._refusals(mark)}") from None
            finally:
                session.last_used = time.monotonic()

    async def _act(self, args: BrowserArguments, session: Session, context: ToolCallContext) -> str:
        from playwright.async_api import Error
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        page = session.page
        limit = args.max_chars or self.settings.max_chars
        try:
            if args.url:
                summary = await self._navigate(page, args.url, limit)
                if args.action == "navigate":
                    return summary
            if args.action == "evaluate":
                return await self._evaluate(page, args.script or "", limit, context)
            if page.url == "about:blank":
                raise ToolError(f"nothing to {args.action}: navigate to a page first")
            if args.action == "screenshot":
                return await self._screenshot(page, args.path, args.full_page)
            assert args.selector is not None
            if args.action == "click":
                await page.click(args.selector, timeout=self._ms)
                return f"Clicked {args.selector!r}.\n" + await self._after_action(page, limit)
            await page.fill(args.selector, args.text or "", timeout=self._ms)
            if not args.submit:
                return f"Typed {len(args.text or '')} characters into {args.selector!r}."
            await page.press(args.selector, "Enter", timeout=self._ms)
            typed = f"Typed into {args.selector!r} and pressed Enter.\n"
            return typed + await self._after_action(page, limit)
        except PlaywrightTimeout:
            what = f"waiting for {args.selector!r}" if args.selector else ""
            raise ToolError(
                f"{args.action} timed out after {self.settings.timeout:g}s {what}".rstrip()
            ) from None
        except Error as exc:
            raise ToolError(f"{args.action} failed: {_first_line(exc)}") from None

    async def _navigate(self, page: Page, url: str, limit: int) -> str:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        started = time.monotonic()
        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=self._ms)
        except PlaywrightTimeout:
            raise ToolError(
                f"loading {url} timed out after {self.settings.timeout:g}s (the page never "
                "answered); the browser is still usable"
            ) from None
        proxy_said = response.headers.get(PROXY_HEADER.lower()) if response is not None else None
        if response is not None and proxy_said:
            verdict = "was refused" if proxy_said == "refused" else "cannot be reached"
            raise ToolError(f"{response.url} {verdict}: {await response.text()}")
        status = response.status if response is not None else None
        return await self._describe(page, url, limit, status, started)

    async def _after_action(self, page: Page, limit: int) -> str:
        """The page after a click or a submit (which may have loaded another page)."""
        return await self._describe(page, "", limit, None, time.monotonic())

    async def _describe(
        self, page: Page, requested: str, limit: int, status: int | None, started: float
    ) -> str:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        remaining = max(self.settings.timeout - (time.monotonic() - started), 0.1)
        loading = ""
        try:
            await page.wait_for_load_state("load", timeout=remaining * 1000)
        except PlaywrightTimeout:
            loading = (
                f"[the page had not finished loading after {self.settings.timeout:g}s: "
                "its text as it was then]"
            )
        title = await page.title()
        text = _BLANK_LINES.sub("\n\n", await page.evaluate(PAGE_TEXT) or "").strip()
        lines = [f"Title: {_cap(' '.join(title.split()), HEAD_CHARS)}"] if title.strip() else []
        moved = ""
        if requested and page.url != requested:
            moved = f" (redirected from {_cap(requested, HEAD_CHARS)})"
        lines.append(f"URL: {_cap(page.url, HEAD_CHARS)}{moved}")
        if status is not None and status >= 400:
            lines.append(f"HTTP status: {status}")
        if loading:
            lines.append(loading)
        return "\n".join(lines) + "\n\n" + _cap(text or "(no visible text)", limit)

    async def _evaluate(self, page: Page, script: str, limit: int, context: ToolCallContext) -> str:
        from playwright.async_api import Error

        try:
            async with asyncio.timeout(self.settings.timeout):
                result = await page.evaluate(script)
        except TimeoutError:
            what = f"the script did not finish within {self.settings.timeout:g}s"
            raise await self._page_hung(context.session_key, what) from None
        except Error as exc:
            raise ToolError(f"the script failed: {_first_line(exc)}") from None
        try:
            shown = json.dumps(result, ensure_ascii=False, default=str)
        except ValueError:  # Playwright hands back circular objects as such
            raise ToolError(
                "the script's result refers to itself and cannot be shown as JSON: "
                "return a part of it"
            ) from None
        return _cap(shown, limit)

    async def _screenshot(self, page: Page, path: str | None, full_page: bool) -> str:
        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
            path = f"{self.settings.screenshot_dir}/screenshot-{stamp}.png"
        if Path(path).suffix.lower() != ".png":
            raise ToolError(f"screenshots are PNG files: give a path ending in .png, not {path!r}")
        data = await page.screenshot(full_page=full_page, type="png")
        width, height = png_size(data)
        # written by the gateway, so through WorkspaceFiles: no symlink followed on the way
        _, shown = await asyncio.to_thread(WorkspaceFiles.of(self.policy).write, path, data)
        return (
            f"Saved a {width}x{height} PNG screenshot of {page.url} "
            f"({len(data) // 1024 + 1} KB) to {shown}"
        )

    async def _page_hung(self, session_key: str, what: str) -> ToolError:
        """A busy script hangs its page: drop the session's context, the browser lives on."""
        await self.manager.discard(session_key)
        return ToolError(
            f"{what}; this conversation's page was closed (navigate again to continue)"
        )

    def _refusals(self, mark: int) -> str:
        proxy = self.manager.proxy
        refused = proxy.refusals_since(mark) if proxy is not None else []
        if not refused:
            return ""
        shown = "; ".join(refused[-3:])
        return f" (the browser's SSRF guard refused {len(refused)} request(s): {shown})"


def make_browser_tool(
    manager: BrowserManager, policy: SandboxPolicy, settings: BrowserSettings
) -> Tool:
    actions = BrowserTool(manager, policy, settings)

    async def browser(context: ToolCallContext, **values: Any) -> str:
        """Browse the web in a real (headless) Chromium, one page per conversation.
        Actions: navigate (open a URL; returns title, final URL and the visible text),
        screenshot (save a PNG of the page in the workspace), evaluate (run JavaScript in the
        page; returns the result as JSON), click (a CSS selector), type (fill a field, with
        submit=true to press Enter). Only public http(s) addresses can be opened."""
        return await actions.run(BrowserArguments.model_validate(values), context)

    return tool(
        browser,
        arguments=BrowserArguments,
        timeout=settings.launch_timeout + 2 * settings.timeout + 10,
    )
