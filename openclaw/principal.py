"""Who a turn, a tool call or a command acts for: a user on a channel, or the owner.

The gateway builds one from each inbound message and hands it, with the message, to the turn's
tools and to commands; tools that reach shared state (sessions, cron jobs, background
processes, script plugins) show and change only what belongs to it. The owner (the CLI, an
embedding program) is trusted and sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Principal:
    """A user on a channel (`channel` is the config name, e.g. "telegram"; `prefix` the
    session-key prefix, e.g. "tg"), or the owner when `channel` is empty."""

    channel: str = ""
    user_id: str = ""
    prefix: str = ""

    @property
    def is_owner(self) -> bool:
        return not self.channel

    def owns_session(self, key: str) -> bool:
        """Whether `key` (`{prefix}:{agent}:{user}:{chat}`) is one of this user's sessions."""
        if self.is_owner:
            return True
        parts = key.split(":", 3)
        return len(parts) == 4 and parts[0] == self.prefix and parts[2] == self.user_id

    def same_user(self, other: Principal) -> bool:
        """The same person: the channel and the user id (the prefix only spells the channel)."""
        return (self.channel, self.user_id) == (other.channel, other.user_id)

    def to_dict(self) -> dict[str, str]:
        return {"channel": self.channel, "user": self.user_id, "prefix": self.prefix}

    @classmethod
    def from_dict(cls, data: Any) -> Principal | None:
        """The principal stored by `to_dict`, or None when `data` is not one."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key), str) and data[key] for key in ("channel", "user")
        ):
            return None
        return cls(data["channel"], data["user"], str(data.get("prefix") or ""))

    def __str__(self) -> str:
        return "the owner" if self.is_owner else f"{self.channel} user {self.user_id}"


OWNER = Principal()
"""The trusted owner: the CLI, the terminal channel, a program embedding the App."""
