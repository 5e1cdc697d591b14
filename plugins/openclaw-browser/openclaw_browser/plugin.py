"""Hook implementations of openclaw-browser (light imports only: Playwright and aiohttp are
imported when the browser or the image tool first runs)."""

from __future__ import annotations

from typing import Any

from openclaw import hookimpl


@hookimpl
def register_config_sections(register: Any) -> None:
    from openclaw.config import ConfigSection
    from openclaw_browser.settings import BrowserSettings, ImageSettings

    register(ConfigSection("tools.browser", BrowserSettings, "the browser tool"))
    register(ConfigSection("tools.image", ImageSettings, "the image tool"))


@hookimpl
def register_tools(register: Any, context: Any) -> None:
    from openclaw_browser.browser_tool import make_browser_tool
    from openclaw_browser.image_tool import make_image_tool
    from openclaw_browser.manager import BrowserManager
    from openclaw_browser.settings import BrowserSettings, ImageSettings

    browser = context.config.section("tools.browser", BrowserSettings)
    policy = context.sandbox  # the App's one policy
    manager = BrowserManager(browser, policy)
    register(make_browser_tool(manager, policy, browser))
    context.services.on_shutdown(manager.close)  # one browser per App, closed with it
    register(
        make_image_tool(context.services, context.config.section("tools.image", ImageSettings))
    )
