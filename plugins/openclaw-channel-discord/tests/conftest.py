"""Shared fixtures: a real Gateway whose Discord channel talks to the fake Discord."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import openclaw_channel_discord.plugin as discord_plugin
import pytest
from openclaw_channel_discord.testing import FakeDiscord

from openclaw.gateway import Gateway
from openclaw.testing.gateway import channel_state

USER, OTHER_USER = 42, 43  # the allowlisted users (the tests use these ids too)


def channel_settings(api: FakeDiscord, **settings: Any) -> dict[str, Any]:
    """`channels.discord` pointed at the fake, quick to reconnect."""
    return {
        "enabled": True,
        "token": api.token,
        "api_base": api.api_base,
        "allowed_user_ids": [USER, OTHER_USER],
        "identify_delay": 0,
        "reconnect_delay": 0.05,
        "reconnect_max_delay": 0.4,
        "retry_delay": 0.01,
        **settings,
    }


@pytest.fixture
def start(
    openclaw_make_app: Callable[..., Any],
    openclaw_discord_api: FakeDiscord,
    openclaw_start_gateway: Callable[..., Awaitable[Gateway]],
) -> Callable[..., Awaitable[Gateway]]:
    """`gateway = await start(config, plugins, **discord_settings)`: a running Gateway whose
    Discord channel is connected to the fake (its cron executor on `clock`, a VirtualClock,
    when given); stopped after the test."""

    async def start(
        config: dict[str, Any] | None = None,
        plugins: Any = (),
        wait_running: bool = True,
        clock: Any = None,
        **settings: Any,
    ) -> Gateway:
        data: dict[str, Any] = {
            "channels": {"discord": channel_settings(openclaw_discord_api, **settings)},
            "limits": {"debounce_ms": 0, "rate_per_minute": 100},
            **(config or {}),
        }
        app = openclaw_make_app(config=data, plugins=[discord_plugin, *plugins])
        channel = "discord" if wait_running else None
        gateway = Gateway(app, port=0)
        if clock is not None:  # the cron executor runs on this virtual clock
            clock.attach(gateway.cron)
        gateway = await openclaw_start_gateway(gateway, channel=channel)
        if wait_running:
            await openclaw_discord_api.wait_for(openclaw_discord_api.connected)
        return gateway

    return start


@pytest.fixture
def http_get() -> Callable[[Gateway, str], Awaitable[str]]:
    """`await http_get(gateway, "/status")`: the body of one of the gateway's endpoints."""

    async def get(gateway: Gateway, path: str) -> str:
        url = f"http://127.0.0.1:{gateway.port}{path}"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    return get


@pytest.fixture
def state() -> Callable[[Gateway], str]:
    """`state(gateway)`: the Discord channel's connection state."""
    return lambda gateway: channel_state(gateway, "discord")
