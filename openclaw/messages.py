"""The conversation's data: messages, content parts, tool calls and results, token usage.

Plain dataclasses so that providers, the store, channels and plugins share one vocabulary
without importing any SDK.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
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


_SURROGATE = re.compile("[\ud800-\udfff]")

INVALID_TEXT_NOTE = (
    "[note: {n} character(s) above were not valid UTF-8; undecodable bytes are shown as \\xNN]"
)


def valid_text(text: str, *, note: bool = True) -> str:
    """`text` as valid Unicode: a lone surrogate cannot be stored or sent to a model.

    Python smuggles undecodable bytes (a file name that is not UTF-8, raw process output) into a
    str as surrogate escapes U+DC80-U+DCFF; each becomes the literal `\\xNN` of its byte, any
    other lone surrogate U+FFFD. With `note`, one line saying so is appended, so the model knows
    the text was changed. Valid text is returned as is.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text

    def replace(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"

    cleaned, count = _SURROGATE.subn(replace, text)
    return f"{cleaned}\n{INVALID_TEXT_NOTE.format(n=count)}" if note else cleaned


def valid_message(message: Message) -> Message:
    """`message` with every text made valid (see `valid_text`); the same object if it was."""
    content = message.content
    if isinstance(content, str):
        content = valid_text(content)
    else:
        content = [
            TextPart(valid_text(part.text)) if isinstance(part, TextPart) else part
            for part in content
        ]
    calls = [
        ToolCall(
            valid_text(c.id, note=False),
            valid_text(c.name, note=False),
            valid_text(c.arguments, note=False),
        )
        for c in message.tool_calls
    ]
    changed = content != message.content or calls != message.tool_calls
    name = message.name and valid_text(message.name, note=False)
    call_id = message.tool_call_id and valid_text(message.tool_call_id, note=False)
    if not changed and name == message.name and call_id == message.tool_call_id:
        return message
    return dataclasses.replace(
        message, content=content, tool_calls=calls, name=name, tool_call_id=call_id
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
