"""Fetching a URL for a tool through the sandbox policy: every redirect hop checked against
SSRF before connecting, and the address actually connected to checked by the guarded
connector."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from openclaw.errors import ToolError
from openclaw.sandbox.errors import SandboxDenied
from openclaw.sandbox.urls import MAX_REDIRECTS, USER_AGENT

if TYPE_CHECKING:
    import aiohttp

    from openclaw.sandbox.policy import SandboxPolicy


@contextlib.asynccontextmanager
async def guarded_get(
    policy: SandboxPolicy, url: str, *, timeout: float, action: str
) -> AsyncIterator[tuple[aiohttp.ClientResponse, str]]:
    """GET `url` for a tool: `(response, its URL)` for the first answer that is not a redirect.

    Redirects are followed by hand so that every hop is checked against SSRF before connecting
    (a refused hop is named); the guarded connector checks the address actually connected to as
    well, which defeats DNS rebinding. `timeout` covers the whole `with` block, reading the
    body included. A timeout or transport error is a ToolError saying `action` ("fetching"...)
    failed and at which hop; so is a chain of more than MAX_REDIRECTS redirects."""
    import aiohttp

    current = url
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(
                connector=policy.ssrf_guarded_connector(), headers={"User-Agent": USER_AGENT}
            ) as session,
        ):
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    await policy.check_url_async(current)
                except SandboxDenied as exc:
                    if current == url:
                        raise
                    raise SandboxDenied(f"{url} redirects to {current}: {exc}") from None
                async with session.get(current, allow_redirects=False) as response:
                    location = response.headers.get("Location")
                    if response.status in (301, 302, 303, 307, 308) and location:
                        current = urljoin(current, location)
                        continue
                    yield response, current
                    return
    except TimeoutError:
        raise ToolError(f"{action} {url} timed out after {timeout:g}s") from None
    except aiohttp.ClientError as exc:
        raise ToolError(f"{action} {current} failed: {type(exc).__name__}: {exc}") from None
    raise ToolError(f"{url} redirected more than {MAX_REDIRECTS} times")
