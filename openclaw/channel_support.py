"""What every chat-app channel needs the same way, so that no channel plugin copies it: telling
what a user sent from its bytes (platforms and filenames can be wrong), the prompt for an image
sent without words, reading the channel's required secret with an error a user can act on, and
handing messages to the gateway in tasks that `stop` lets finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from openclaw.config import ConfigError, Secret

if TYPE_CHECKING:
    from openclaw.channels import Channel, InboundMessage
    from openclaw.gateway import Gateway

log = logging.getLogger("openclaw.channels")

IMAGE_PROMPT = "What is in this image?"
"""The text sent with an image that came without a caption or message."""

_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_AUDIO_SIGNATURES = (
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"\xff\xf2", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "audio/webm"),
)


def image_mime(data: bytes) -> str | None:
    """The MIME type of image bytes by their signature (PNG, JPEG, GIF, WebP), or None when
    the bytes are not an image a model accepts."""
    return _sniff(data, _IMAGE_SIGNATURES, b"WEBP", "image/webp")


def audio_mime(data: bytes) -> str | None:
    """The MIME type of audio bytes by their signature (OGG, FLAC, MP3, WebM, WAV, M4A),
    or None when the bytes are not recognisable audio."""
    if data[4:8] == b"ftyp" and data[8:12] == b"M4A ":
        return "audio/mp4"
    return _sniff(data, _AUDIO_SIGNATURES, b"WAVE", "audio/wav")


def _sniff(
    data: bytes, signatures: tuple[tuple[bytes, str], ...], riff_form: bytes, riff_mime: str
) -> str | None:
    """The MIME type of the first signature `data` starts with; RIFF containers by their form."""
    if data[:4] == b"RIFF" and data[8:12] == riff_form:
        return riff_mime
    return next((mime for signature, mime in signatures if data.startswith(signature)), None)


def required_secret(secret: Secret | None, setting: str, hint: str) -> str:
    """The value of a secret a channel cannot run without, or ConfigError naming `setting`
    (e.g. `channels.discord.token`) and the environment variable; the value is never shown."""
    if secret is None:
        raise ConfigError(f"{setting} is not set ({hint})")
    value = secret.get()
    if value is None:
        raise ConfigError(f"{setting}: environment variable {secret.env} is not set")
    return value


class InboundHandlers:
    """The platform messages a channel is handing to the gateway right now, each in its own
    task, so that stopping the channel lets them finish (bounded) before the connection
    closes, and so that one bad message is logged instead of stopping the channel."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(
        self,
        channel: Channel,
        gateway: Gateway | None,
        inbound: Callable[[], Awaitable[InboundMessage | None]],
    ) -> None:
        """Turn a platform message into an InboundMessage (`inbound`, None to ignore it) and
        hand it to the gateway; never raises."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            message = await inbound()
            if message is not None and gateway is not None:
                await gateway.handle(channel, message)
        except Exception:
            log.exception("%s: handling a message failed", self.channel_name)
        finally:
            if task is not None:
                self._tasks.discard(task)

    def track(self, task: asyncio.Task[Any]) -> None:
        """Count a task started for a message (e.g. by a webhook) until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float) -> None:
        """Wait until the messages being handled are done, at most `timeout` seconds."""
        pending = {task for task in self._tasks if task is not asyncio.current_task()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)
