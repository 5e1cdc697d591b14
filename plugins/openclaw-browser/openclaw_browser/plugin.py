"""Hook implementations of openclaw-browser (light imports only: Playwright and aiohttp are
imported when the browser or the image tool first runs)."""

from __future__ import annotations

from typing import Any

from openclaw import hookimpl


@hookimpl
def register_tools(register: Any, context: Any) -> None:
    from openclaw_browser.browser_tool import make_browser_tool
    from openclaw_browser.image_tool import make_image_tool
    from openclaw_browser.manager import BrowserManager
    from openclaw_browser.settings import ToolsSection

    section = context.config.section("tools", ToolsSection)
    policy = context.sandbox  # the App's one policy
    manager = BrowserManager(section.browser, policy)
    register(make_browser_tool(manager, policy, section.browser))
    context.services.on_shutdown(manager.close)  # one browser per App, closed with it
    register(make_image_tool(context.services, section.image))
