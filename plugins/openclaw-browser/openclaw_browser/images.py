"""Loading an image for the vision model: from a public URL (SSRF-checked at every hop and on
the connected address, size-capped) or from a workspace file, with its type told from its bytes."""

from __future__ import annotations

import asyncio
import os

from openclaw.mime import image_mime
from openclaw.sandbox import SandboxPolicy, WorkspaceFiles, guarded_get
from openclaw.tools import ToolError


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def read_file(policy: SandboxPolicy, path: str, max_bytes: int) -> bytes:
    """A workspace (or allowed) file's bytes, opened race-free (`WorkspaceFiles`); ToolError
    when missing, not a plain file or too large."""
    with WorkspaceFiles.of(policy).locate(path) as place, place.open_read() as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise ToolError(f"{path} is {size // 1024} KB; images up to {max_bytes // 1024} KB")
        return handle.read(max_bytes)


async def download(policy: SandboxPolicy, url: str, max_bytes: int, timeout: float) -> bytes:
    """GET an image with every redirect hop checked against SSRF (see `guarded_get`), and stop
    reading past `max_bytes`."""
    get = guarded_get(policy, url, timeout=timeout, action="downloading")
    async with get as (response, final):
        if response.status >= 400:
            raise ToolError(f"{final} answered HTTP {response.status}")
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > max_bytes:
                raise ToolError(f"{url} is larger than {max_bytes // 1024} KB, the image limit")
        return bytes(body)


async def load_image(
    policy: SandboxPolicy, source: str, max_bytes: int, timeout: float
) -> tuple[bytes, str]:
    """(bytes, MIME type) of the image at `source`: an http(s) URL or a workspace path."""
    if is_url(source):
        data = await download(policy, source, max_bytes, timeout)
    elif "://" in source or source.lower().startswith("data:"):
        raise ToolError(f"{source[:60]!r}: give an http(s) URL or a path in the workspace")
    else:
        data = await asyncio.to_thread(read_file, policy, source, max_bytes)
    mime = image_mime(data)
    if mime is None:
        raise ToolError(f"{source} is not a PNG, JPEG, GIF or WebP image (judged from its bytes)")
    return data, mime
