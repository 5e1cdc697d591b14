"""The conversation's data: messages, content parts, tool calls and results, token usage.

Plain dataclasses so that providers, the store, channels and plugins share one vocabulary
without importing any SDK.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class TextPart:
    """A piece of text inside a multi-part message."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image: inline bytes (sent as a data URL) or a remote URL."""

    data: bytes | None = None
    mime_type: str = "image/png"
    url: str | None = None
    type: Literal["image"] = "image"

    def data_url(self) -> str:
        """The image as a URL a vision model accepts."""
        if self.url:
            return self.url
        encoded = base64.b64encode(self.data or b"").decode("ascii")
        return f"data:{self.mime_type};base64,{encoded}"


ContentPart = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to run a tool; `arguments` is the raw JSON text the model produced."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; raises ValueError with a model-readable reason."""
        text = self.arguments.strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"arguments are not valid JSON ({exc.msg} at char {exc.pos})") from exc
        if not isinstance(value, dict):
            raise ValueError("arguments must be a JSON object")
        return value


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returned, as text for the model."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(slots=True)
class Usage:
    """Token counts of one provider call; `estimated` when the provider sent none."""

    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.estimated = self.estimated or other.estimated


@dataclass(slots=True)
class Message:
    """One message of a conversation, in the shape every provider adapter translates from."""

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    created_at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        """The textual content, with image parts left out."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    @property
    def images(self) -> list[ImagePart]:
        if isinstance(self.content, str):
            return []
        return [part for part in self.content if isinstance(part, ImagePart)]

    @classmethod
    def tool_result(cls, result: ToolResult) -> Message:
        return cls(
            role="tool",
            content=result.content,
            tool_call_id=result.call_id,
            name=result.name,
            is_error=result.is_error,
        )


def estimate_tokens(text: str) -> int:
    """The usual chars/4 estimate, used where a provider reports no usage."""
    return (len(text) + 3) // 4


def message_tokens(message: Message) -> int:
    """Estimated tokens a message costs in a prompt (images count a flat 765, like a tile)."""
    tokens = 4 + estimate_tokens(message.text)
    tokens += sum(
        estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in message.tool_calls
    )
    return tokens + 765 * len(message.images)
