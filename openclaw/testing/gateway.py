"""A real Gateway running inside a test's event loop, started and stopped the same way by every
test that needs one (the `openclaw_start_gateway` fixture is built on `running_gateway`)::

    async with running_gateway(Gateway(app, port=0), channel="telegram") as gateway:
        openclaw_telegram_api.user_sends(42, 42, "hi")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from openclaw.testing.secret_scan import current_scan

if TYPE_CHECKING:
    from openclaw.gateway import Gateway


def channel_state(gateway: Gateway, channel: str) -> str:
    """The state of one of the gateway's channels (`running`, ...), "" before it exists."""
    supervised = gateway.channels.get(channel)
    return supervised.channel.state if supervised else ""


@contextlib.asynccontextmanager
async def running_gateway(
    gateway: Gateway, *, channel: str | None = None, timeout: float = 30.0
) -> AsyncIterator[Gateway]:
    """Run `gateway` until it is ready (and `channel`, if named, is running); stop it on the
    way out. A gateway that fails to start raises its error here (a config error, say)."""
    task = asyncio.create_task(gateway.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not gateway.ready.is_set() or (
            channel is not None and channel_state(gateway, channel) != "running"
        ):
            if task.done():
                task.result()
                raise RuntimeError("the gateway stopped before it was ready")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the gateway was not ready within {timeout:g}s")
            await asyncio.sleep(0.01)
        yield gateway
    finally:
        try:
            _report_outputs(gateway)
        finally:
            await gateway.stop()
            await task


def _report_outputs(gateway: Gateway) -> None:
    """Give the test's secret scan this gateway's secrets, `/status` and `/metrics`."""
    scan = current_scan()
    if scan is None or not gateway.ready.is_set():
        return
    scan.add_secrets(gateway.app.secret_values())
    scan.add_output("/status", json.dumps(gateway.status()))
    scan.add_output("/metrics", gateway.metrics_text().decode())


@pytest.fixture
async def openclaw_start_gateway() -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """`gateway = await openclaw_start_gateway(Gateway(app, port=0), channel="telegram")`: runs the
    gateway (see `running_gateway`) until the test ends; a test may start several."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            gateway: Gateway, *, channel: str | None = None, timeout: float = 30.0
        ) -> Gateway:
            return await stack.enter_async_context(
                running_gateway(gateway, channel=channel, timeout=timeout)
            )

        yield start
