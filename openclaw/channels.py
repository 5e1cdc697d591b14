"""Channels: how a message arrives (`InboundMessage`) and how a channel type is declared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from openclaw.config import ChannelSettings
from openclaw.messages import ContentPart, ImagePart, TextPart

if TYPE_CHECKING:
    from openclaw.app import App


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
    raw: Any = None

    def session_key(self, agent: str) -> str:
        return f"{self.channel}:{agent}:{self.user_id}:{self.chat_id}"

    def content(self) -> str | list[ContentPart]:
        """What the agent receives: the text alone, or the text and the image attachments."""
        images = [a.as_image() for a in self.attachments if a.kind == "image"]
        if not images:
            return self.text
        return [TextPart(self.text), *images]


def apply_inbound_hooks(app: App, message: InboundMessage) -> InboundMessage | str:
    """Let plugins transform or claim a message (`inbound_message` hook): returns the message
    to process, or the text a plugin answered with instead of an agent turn. A plugin that
    raises is logged and passed over."""
    from openclaw.plugins import first_result

    result = first_result(app.plugins, "inbound_message", lambda plugin, exc: None, message=message)
    return message if result is None else result


@dataclass(frozen=True, slots=True)
class ChannelType:
    """A kind of channel a plugin offers: `create(app, settings)` builds a running channel."""

    name: str
    create: Any
    settings_model: type[BaseModel] = ChannelSettings
    description: str = ""
