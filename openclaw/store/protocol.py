"""`SessionStore`: what the kernel needs from a session store, whatever the backend.

Markdown export (`openclaw.store.export`) and the 3-part key migration
(`openclaw.store.key_migration`) are functions over a store, not part of this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from openclaw.messages import Message
from openclaw.store.rows import Inbound, SessionInfo, StoreStats

# `progress(done, total)`, called as long work advances (`openclaw.progress` draws it)
ProgressCallback = Callable[[int, int], None]


@runtime_checkable
class SessionStore(Protocol):
    """What the kernel needs from a session store; `SqliteStore` is the default backend.

    `history` may hand out the same `Message` objects to several callers (a backend may cache
    them): treat them as read-only and build new ones (`dataclasses.replace`) to change one.
    """

    def append(
        self, key: str, message: Message, *, tokens: int | None = None, model: str | None = None
    ) -> None: ...

    def append_round(
        self,
        key: str,
        call: Message,
        results: Sequence[Message],
        *,
        tokens: int | None = None,
        model: str | None = None,
    ) -> None: ...

    def history(
        self, key: str, limit: int | None = None, *, tokens: int | None = None
    ) -> list[Message]: ...

    def session(self, key: str) -> SessionInfo | None: ...

    def session_model(self, key: str) -> str | None: ...

    def list_sessions(self, channel: str | None = None) -> list[SessionInfo]: ...

    def find(self, partial: str) -> list[SessionInfo]: ...

    def reset(self, key: str) -> None: ...

    def set_model(self, key: str, ref: str | None) -> None: ...

    def stats(self) -> StoreStats: ...

    def prune(
        self,
        older_than_days: float = 30,
        now: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> int: ...

    def record_inbound(
        self, channel: str, delivery_id: str, chat_id: str, message_id: str, payload: str = ""
    ) -> bool: ...

    def inbound(self, channel: str, delivery_id: str) -> Inbound | None: ...

    def start_inbound(
        self,
        channel: str,
        delivery_ids: list[str],
        session_key: str,
        base: int | None = None,
        *,
        message: Message | None = None,
    ) -> None: ...

    def note_reply(self, channel: str, delivery_ids: list[str], reply_id: str) -> None: ...

    def finish_inbound(self, channel: str, delivery_ids: list[str]) -> None: ...

    def claim_unanswered(self) -> list[Inbound]: ...

    def unanswered_count(self, channel: str | None = None) -> int: ...

    def close(self) -> None: ...
