"""A session as a markdown transcript (`openclaw sessions export`, `/export`)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from openclaw.messages import Message, TextPart
from openclaw.redaction import redact
from openclaw.store.protocol import ProgressCallback, SessionStore

_ICONS = {"user": "👤", "assistant": "🤖", "tool": "🔧", "system": "⚙️"}


def export_markdown(store: SessionStore, key: str, progress: ProgressCallback | None = None) -> str:
    """The key's active session as markdown: the conversation only, no config or ids, secrets
    masked (`openclaw.redaction.redact`).

    Raises KeyError when the key has no active session, so a misspelt key is not mistaken
    for an empty conversation.
    """
    if store.session(key) is None:
        raise KeyError(f"no active session {key!r}")
    blocks = [f"# Conversation `{key}`"]
    messages = store.history(key)
    for done, message in enumerate(messages, start=1):
        blocks.append(_markdown_message(message))
        if progress is not None:
            progress(done, len(messages))
    return redact("\n\n".join(blocks)) + "\n"


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fenced(text: str, lang: str = "") -> str:
    """A code block whose fence is longer than any backtick run inside, so output stays literal."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _pretty_arguments(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except json.JSONDecodeError:
        return arguments


def _markdown_message(message: Message) -> str:
    title = f"{_ICONS[message.role]} {message.role}"
    if message.name:
        title += f" · `{message.name}`"
    if message.is_error:
        title += " · error"
    blocks = [f"### {title} · {_timestamp(message.created_at)}"]
    if message.role == "tool":
        blocks.append(_fenced(message.text))
    elif isinstance(message.content, str):
        if message.content:
            blocks.append(message.content)
    else:
        pieces = [
            part.text if isinstance(part, TextPart) else f"[image: {part.mime_type}]"
            for part in message.content
        ]
        blocks.append("\n".join(piece for piece in pieces if piece))
    for call in message.tool_calls:
        blocks.append(f"🔧 **{call.name}**\n{_fenced(_pretty_arguments(call.arguments), 'json')}")
    return "\n\n".join(blocks)
