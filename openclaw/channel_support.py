"""What every chat-app channel needs the same way, so that no channel plugin copies it: the prompt
for an image sent without words, reading the channel's required secret with an error a user can
act on, and handing messages to the inbox in tasks that `stop` lets finish. (The delays
between attempts to connect again are `openclaw.retry.Backoff`; a file's type from its bytes is
`openclaw.mime`.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from openclaw.config import ConfigError, Secret

if TYPE_CHECKING:
    from openclaw.channels import Channel, InboundMessage, Inbox

log = logging.getLogger("openclaw.channels")

IMAGE_PROMPT = "What is in this image?"
"""The text sent with an image that came without a caption or message."""


def required_secret(
    secret: Secret | None, setting: str, hint: str, environ: Mapping[str, str] | None = None
) -> str:
    """The value of a secret a channel cannot run without, or ConfigError naming `setting`
    (e.g. `channels.discord.token`) and the environment variable; the value is never shown.
    `environ` is where a `$VAR` secret is read (the settings' `environ`)."""
    if secret is None:
        raise ConfigError(f"{setting} is not set ({hint})")
    value = secret.get(environ)
    if value is None:
        raise ConfigError(f"{setting}: environment variable {secret.env} is not set")
    return value


class InboundHandlers:
    """The platform messages a channel is handing to the kernel right now, each in its own
    task, so that stopping the channel lets them finish (bounded) before the connection
    closes, and so that one bad message is logged instead of stopping the channel."""

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(
        self,
        channel: Channel,
        inbox: Inbox | None,
        inbound: Callable[[], Awaitable[InboundMessage | None]],
    ) -> None:
        """Turn a platform message into an InboundMessage (`inbound`, None to ignore it) and
        hand it to the kernel's inbox; never raises."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            message = await inbound()
            if message is not None and inbox is not None:
                await inbox.deliver(channel, message)
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
