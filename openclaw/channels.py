"""Channels: how a message arrives (`InboundMessage`), the small surface a channel offers for
replies (`ChannelSurface`), the running channel (`Channel`) and how a type is declared.

A channel plugin implements transport only: receiving messages and the surface below. Commands,
limits, sessions and the streaming reply come from the kernel, the same for every channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel

from openclaw.config import ChannelSettings
from openclaw.messages import ContentPart, ImagePart, TextPart

if TYPE_CHECKING:
    from openclaw.commands import Command
    from openclaw.services import Services


@dataclass(slots=True)
class Attachment:
    """A file that came with a message: images become content parts, audio goes to
    speech-to-text."""

    kind: str  # "image", "audio", "file"
    data: bytes
    mime_type: str
    filename: str = ""

    def as_image(self) -> ImagePart:
        return ImagePart(data=self.data, mime_type=self.mime_type)


@dataclass(slots=True)
class InboundMessage:
    """A message from a person on some channel, before the kernel decides what to do with it."""

    channel: str  # short channel prefix used in session keys: "tg", "dc", "cli"
    user_id: str
    chat_id: str
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    message_id: str | None = None  # the platform's id, so that the answer can reply to it
    raw: Any = None
    private: bool | None = None  # a one-to-one chat with the bot; None: the channel does not say
    problem: str = ""
    """Why the message could not be read (a file download failed, say): the gateway answers
    with it instead of running a turn, so the user always hears back."""

    def session_key(self, agent: str) -> str:
        return f"{self.channel}:{agent}:{self.user_id}:{self.chat_id}"

    def is_private(self) -> bool:
        """Whether only the sender reads the answer (pairing codes go nowhere else). When the
        channel does not say, a chat whose id is the user's id counts as private."""
        return self.private if self.private is not None else self.chat_id == self.user_id

    def content(self) -> str | list[ContentPart]:
        """What the agent receives: the text alone, or the text and the image attachments."""
        images = [a.as_image() for a in self.attachments if a.kind == "image"]
        if not images:
            return self.text
        return [TextPart(self.text), *images]


class MarkupRejected(Exception):
    """Raised by a surface when the platform refused the message's markup; the streaming reply
    then sends the same text as plain text."""


@runtime_checkable
class ChannelSurface(Protocol):
    """What the kernel's streaming reply drives. Message ids are the platform's, as strings.

    `markdown=True` asks for the platform's markdown; the surface formats/escapes it
    (`format_markdown`) and raises MarkupRejected when the platform refuses it. Transient
    platform errors (rate limits, 5xx, dropped connections) are retried inside the surface;
    what still fails raises.
    """

    max_len: int  # longest message the platform accepts, in characters
    max_caption_len: int  # longest caption of a file or voice message, in characters

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str: ...

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None: ...

    async def send_typing(self, chat_id: str) -> None: ...

    async def send_file(
        self, chat_id: str, filename: str, data: bytes, caption: str = ""
    ) -> None: ...

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None: ...

    def format_markdown(self, text: str) -> str: ...


class Inbox(Protocol):
    """How a running channel talks to the kernel (the gateway implements it)."""

    async def deliver(self, channel: Channel, message: InboundMessage) -> None:
        """Take one message through the pipeline (access, hooks, commands, the agent turn)
        and answer it on `channel`'s surface; returns when it is answered. Never raises."""

    def knows(self, channel: str, user_id: str) -> bool:
        """Whether `user_id` may talk on channel `channel` (listed or paired). Ask before
        downloading a message's files, so that a stranger's uploads cost nothing."""
        ...

    def record(self, channel: Channel, chat_id: str, message_id: str, payload: str = "") -> bool:
        """Store a platform message durably before confirming it to the platform; `payload`
        is what the channel's `redeliver(inbox, payload)` needs to hand it over again after
        a crash. False when it was recorded before (a redelivery): drop it."""
        ...

    def skipped(self, channel: Channel) -> None:
        """Count a platform update the channel could not read and skipped."""

    def commands(self) -> Mapping[str, Command]:
        """The App's slash commands (a platform that lists commands shows these)."""
        ...


@runtime_checkable
class Channel(ChannelSurface, Protocol):
    """A running channel: receives messages and hands them to `inbox.deliver(self, message)`.

    `run` returns when `stop` is called (and raises when the connection is lost for good: the
    gateway restarts it with backoff). `state` is shown in `/status` and the metrics.
    """

    name: str  # the config name, e.g. "telegram"
    prefix: str  # the session-key prefix, e.g. "tg"
    state: str  # "starting", "running", "reconnecting", "stopped", "failed: <why>"

    async def run(self, inbox: Inbox) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelType:
    """A kind of channel a plugin offers: `create(services, settings)` builds a `Channel` from
    the App's services and its validated `channels.<name>` settings (`settings_model`)."""

    name: str
    create: Callable[[Services, Any], Channel]
    settings_model: type[BaseModel] = ChannelSettings
    description: str = ""
