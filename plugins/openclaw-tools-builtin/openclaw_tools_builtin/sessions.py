"""The `sessions` tool: lets the agent see its other conversations and leave a note in one.

Keys are long (`tg:main:42:42`), so any unique part of a key names a session; an ambiguous
part is an error listing the candidates rather than a guess. A turn for a chat user sees only
that user's sessions (other users' sessions do not exist for it); the owner sees all. A note
is always a `user` message: no tool may speak for the system prompt of a conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from openclaw.messages import Message
from openclaw.tools import Tool, ToolCallContext, ToolError, tool

if TYPE_CHECKING:
    from openclaw.principal import Principal
    from openclaw.sandbox import SandboxPolicy
    from openclaw.store import SessionInfo, SessionStore
    from openclaw.tools import ToolContext

LIST_LIMIT = 50
MESSAGE_CHARS = 500
CANDIDATES_SHOWN = 10


class SessionsArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a `role` is refused, not silently dropped

    action: Literal["list", "history", "send"] = Field(
        description="list: sessions with stats; history: a session's messages; "
        "send: add a note (a user message) to another of this user's sessions."
    )
    session: str | None = Field(
        None,
        description="A session key or any unique part of one (default: the current session). "
        "For list, shows only the sessions whose key contains it.",
    )
    limit: int = Field(20, ge=1, le=200, description="history: how many of the newest messages.")
    message: str | None = Field(None, description="send: the text to add.")


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}… [+{len(text) - limit} chars]"


def visible(
    store: SessionStore, principal: Principal, current: str, partial: str | None = None
) -> list[SessionInfo]:
    """The sessions `principal` may see (its own, and the current one), newest first;
    only those whose key contains `partial` when given."""
    infos = store.find(partial) if partial else store.list_sessions()
    return [info for info in infos if info.key == current or principal.owns_session(info.key)]


def resolve(store: SessionStore, principal: Principal, partial: str | None, current: str) -> str:
    """The key `partial` names among the visible sessions: itself when it is a key, else the
    one key containing it."""
    if not partial:
        return current
    allowed = partial == current or principal.owns_session(partial)
    if allowed and store.session(partial) is not None:
        return partial
    matches = visible(store, principal, current, partial)
    if len(matches) == 1:
        return matches[0].key
    if not matches:
        raise ToolError(f"no session matches {partial!r}; use action 'list' to see the keys")
    shown = ", ".join(info.key for info in matches[:CANDIDATES_SHOWN])
    more = len(matches) - CANDIDATES_SHOWN
    shown += f" and {more} more" if more > 0 else ""
    raise ToolError(f"{partial!r} matches {len(matches)} sessions: {shown}; give more of the key")


def _info_line(info: SessionInfo, current: str) -> str:
    marker = "*" if info.key == current else " "
    model = f", model {info.model}" if info.model else ""
    return (
        f"{marker} {info.key} — {info.message_count} messages, {info.tokens} tokens, "
        f"started {_time(info.created_at)}, last active {_time(info.updated_at)}{model}"
    )


def list_sessions(
    store: SessionStore, principal: Principal, partial: str | None, current: str
) -> str:
    infos = visible(store, principal, current, partial)
    if not infos:
        return f"No session matches {partial!r}." if partial else "No sessions yet."
    lines = [f"{len(infos)} session(s), most recent first (* = this conversation):"]
    lines += [_info_line(info, current) for info in infos[:LIST_LIMIT]]
    if len(infos) > LIST_LIMIT:
        lines.append(f"… and {len(infos) - LIST_LIMIT} more; pass `session` to narrow the list")
    return "\n".join(lines)


def _message_line(message: Message) -> str:
    who = f"{message.role} ({message.name})" if message.role == "tool" and message.name else ""
    who = who or message.role
    error = " [error]" if message.is_error else ""
    parts = [_clip(message.text)] if message.text else []
    parts += [f"→ {call.name}({_clip(call.arguments, 200)})" for call in message.tool_calls]
    return f"[{_time(message.created_at)}] {who}{error}: {' '.join(parts) or '(empty)'}"


def history(store: SessionStore, key: str, limit: int) -> str:
    info = store.session(key)
    if info is None:
        return f"Session {key} has no messages."
    messages = store.history(key, limit)
    header = f"Session {key}: the last {len(messages)} of {info.message_count} messages"
    if len(messages) == info.message_count:
        header = f"Session {key}: {info.message_count} messages"
    return "\n".join([header + ":", *(_message_line(m) for m in messages)])


def send(store: SessionStore, key: str, current: str, text: str | None) -> str:
    if not text:
        raise ToolError("send needs `message`, the text to add")
    if key == current:
        # Appending mid-turn would land between this turn's tool call and its result.
        raise ToolError("cannot send to the current session; answer in this conversation instead")
    store.append(key, Message(role="user", content=text))
    info = store.session(key)
    count = info.message_count if info else "?"
    return f"Added a user message to {key} (now {count} messages)."


def _sessions_tool() -> Tool:
    def sessions(
        action: str,
        session: str | None,
        limit: int,
        message: str | None,
        context: ToolCallContext,
    ) -> str:
        """See and use this user's conversations: list sessions with stats (the current one
        marked), read a session's history, or send (add) a note to another session."""
        store = context.services.store
        current, principal = context.session_key, context.principal
        if action == "list":
            return list_sessions(store, principal, session, current)
        key = resolve(store, principal, session, current)
        if action == "history":
            return history(store, key, limit)
        return send(store, key, current, message)

    return tool(sessions, arguments=SessionsArguments)


def make_tools(policy: SandboxPolicy, context: ToolContext) -> list[Tool]:
    return [_sessions_tool()]
