"""The SSRF-guarding proxy on the wire, as Chromium uses it: plain-HTTP requests in absolute
form and CONNECT tunnels (https, wss), allowed and refused."""

from __future__ import annotations

import asyncio
from typing import Any

from openclaw_browser.guard_proxy import PROXY_HEADER, GuardProxy

from openclaw.sandbox import SandboxPolicy


async def exchange(proxy: GuardProxy, request: bytes) -> tuple[bytes, asyncio.StreamReader, Any]:
    host, port = proxy.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    return head, reader, writer


async def test_a_connect_tunnel_reaches_an_allowed_host_only(site, tmp_path):
    proxy = await GuardProxy(SandboxPolicy(tmp_path, allowed_hosts=["127.0.0.1"])).start()
    try:
        allowed = site.base.removeprefix("http://")
        head, reader, writer = await exchange(proxy, f"CONNECT {allowed} HTTP/1.1\r\n\r\n".encode())
        assert head.startswith(b"HTTP/1.1 200")
        # the tunnel carries anything; here plain HTTP to the site
        writer.write(b"GET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"just text, no picture")
        writer.close()

        internal = site.internal.removeprefix("http://")
        head, reader, writer = await exchange(
            proxy, f"CONNECT {internal} HTTP/1.1\r\n\r\n".encode()
        )
        assert head.startswith(b"HTTP/1.1 403")
        assert f"{PROXY_HEADER}: refused".encode() in head
        assert b"127.0.0.2, a loopback address" in await reader.read()
        writer.close()
    finally:
        await proxy.close()
    assert site.internal_hits == []
    assert len(proxy.refusals) == 1 and proxy.refusals[0].startswith(f"CONNECT {internal}: blocked")


async def test_plain_http_is_forwarded_with_connection_close(site, tmp_path):
    proxy = await GuardProxy(SandboxPolicy(tmp_path, allowed_hosts=["127.0.0.1"])).start()
    try:
        request = (
            f"GET {site.base}/notes.txt HTTP/1.1\r\nHost: x\r\nProxy-Connection: keep-alive\r\n\r\n"
        )
        head, reader, writer = await exchange(proxy, request.encode())
        assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" in head
        assert await reader.read() == b"just text, no picture"
        writer.close()
        head, reader, writer = await exchange(proxy, b"GET /relative HTTP/1.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400")
        writer.close()
        unknown = b"GET http://no-such-host.invalid/ HTTP/1.1\r\n\r\n"
        head, reader, writer = await exchange(proxy, unknown)
        assert head.startswith(b"HTTP/1.1 502") and f"{PROXY_HEADER}: unreachable".encode() in head
        writer.close()
    finally:
        await proxy.close()
    assert ("GET", "/notes.txt", {}) in site.requests
