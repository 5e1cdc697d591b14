"""The store's row types and how a `Message` becomes a row and back.

`SessionInfo`, `StoreStats` and `Inbound` are what the store hands out; the encoders are shared
by `SqliteStore` and the history cache, so a cached message equals the one read from the file.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from openclaw.messages import (
    ContentPart,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolCall,
    valid_message,
)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One active session as listed by `/status`, the `sessions` tool and the CLI."""

    key: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int
    tokens: int
    model: str | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What the database holds, archived sessions included (they are what `prune` frees)."""

    sessions: int
    messages: int
    tokens: int
    db_bytes: int
    oldest: float | None  # creation time of the oldest session
    newest: float | None  # last activity of the most recent session
    by_channel: dict[str, int]  # sessions per channel


@dataclass(frozen=True, slots=True)
class Inbound:
    """One platform message as the delivery record keeps it (see `openclaw.gateway.delivery`).

    `state` is `recorded` (received, no turn yet), `started` (its turn began when the session
    held `base` messages) or `finished` (answered, or refused on purpose). `payload` is what the
    channel needs to hand the message over again (e.g. Telegram's update JSON).
    """

    channel: str
    delivery_id: str
    chat_id: str
    message_id: str
    payload: str
    state: str
    restarts: int
    session_key: str | None
    base: int | None
    turn_id: str | None  # the same for the messages one (debounced) turn answers
    reply_id: str | None  # the platform id of the first message of its answer, once sent


INBOUND_COLUMNS = (
    "channel, delivery_id, chat_id, message_id, payload, state, restarts, session_key, base, "
    "turn_id, reply_id"
)

# The columns `row_message` reads, in its order: tuples, not dicts, on the turn's hot path.
MESSAGE_COLUMNS = "id, role, content, parts, tool_calls, tool_call_id, name, is_error, created_at"
MessageRow = tuple[int, str, str, str | None, str | None, str | None, str | None, int, float]


class NoCalls(list[ToolCall]):
    """The `tool_calls` of every message the store hands out without calls: one shared, empty,
    unchangeable list. It equals `[]`; changing it raises. A cached history holds thousands of
    messages, and each object in it is walked by every full garbage collection (10 ms for a full
    cache): sharing this list halves them, and a caller that mutates a stored message, which the
    history cache forbids, fails at once instead of changing every message."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("a stored message's tool_calls are shared: build a new list to change them")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


NO_CALLS = NoCalls()


def _encode_parts(content: str | list[ContentPart]) -> str | None:
    """JSON of the parts, or None for plain text; any list is kept so `history` returns a list."""
    if isinstance(content, str):
        return None
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            data = None if part.data is None else base64.b64encode(part.data).decode("ascii")
            parts.append(
                {"type": "image", "mime_type": part.mime_type, "data": data, "url": part.url}
            )
    return json.dumps(parts, ensure_ascii=False)


def _decode_parts(text: str) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for part in json.loads(text):
        if part["type"] == "text":
            parts.append(TextPart(part["text"]))
        else:
            data = None if part["data"] is None else base64.b64decode(part["data"])
            parts.append(ImagePart(data=data, mime_type=part["mime_type"], url=part["url"]))
    return parts


def message_row(message: Message) -> dict[str, Any]:
    """The columns of one message (without its session, tokens and model)."""
    message = valid_message(message)  # a lone surrogate cannot be stored (nor sent to a model)
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
    return {
        "role": message.role,
        "content": message.text,
        "parts": _encode_parts(message.content),
        "tool_calls": json.dumps(calls, ensure_ascii=False) if calls else None,
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "is_error": int(message.is_error),
        "created_at": message.created_at,
    }


def row_tuple(row_id: int, row: dict[str, Any]) -> MessageRow:
    """A `message_row` as the tuple a `MESSAGE_COLUMNS` query returns."""
    return (
        row_id,
        row["role"],
        row["content"],
        row["parts"],
        row["tool_calls"],
        row["tool_call_id"],
        row["name"],
        row["is_error"],
        row["created_at"],
    )


# What a history read selects: a message's text and time, then for a plain user or assistant
# message (no parts, calls, call id, name or error: almost every row) 0 or 1 for its role, and
# for any other the role and the rare columns packed by SQLite into one JSON array. So each row
# costs Python three values rather than nine and no new role string (the read is the cold
# turn's main cost, ~520 rows at the default budget).
HISTORY_COLUMNS = (
    "content, created_at, CASE WHEN parts IS NULL AND tool_calls IS NULL "
    "AND tool_call_id IS NULL AND name IS NULL AND is_error = 0 "
    "AND role IN ('user', 'assistant') THEN role = 'assistant' "
    "ELSE json_array(role, parts, tool_calls, tool_call_id, name, is_error) END"
)
HistoryRow = tuple[str, float, int | str]
PLAIN_ROLES: tuple[Role, Role] = ("user", "assistant")  # a plain row's third value indexes it


def history_message(row: HistoryRow) -> Message:
    """The `Message` of a `HISTORY_COLUMNS` row."""
    content, created_at, kind = row
    if type(kind) is int:
        return Message(PLAIN_ROLES[kind], content, NO_CALLS, None, None, False, created_at)
    role, parts, calls, call_id, name, is_error = json.loads(cast(str, kind))
    return row_message((0, role, content, parts, calls, call_id, name, is_error, created_at))


def row_message(row: MessageRow) -> Message:
    """The `Message` of a `MESSAGE_COLUMNS` row."""
    _, role, content, parts, tool_calls, tool_call_id, name, is_error, created_at = row
    calls = (
        [ToolCall(c["id"], c["name"], c["arguments"]) for c in json.loads(tool_calls)]
        if tool_calls
        else NO_CALLS
    )
    return Message(
        role=role,  # type: ignore[arg-type]
        content=_decode_parts(parts) if parts is not None else content,
        tool_calls=calls,
        tool_call_id=tool_call_id,
        name=name,
        is_error=bool(is_error),
        created_at=created_at,
    )


def text_cost(text: str) -> int:
    """The lower bound of `message_tokens` for a message of this text: 4 plus a token per 4
    characters."""
    return 4 + (len(text) + 3) // 4


def dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """A query's rows as dicts keyed by column name (for the dataclasses built from them)."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
