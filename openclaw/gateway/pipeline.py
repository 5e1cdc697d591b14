"""The gateway's message pipeline pieces, each small and testable alone: pairing (one-time codes
an owner approves from the CLI), the sliding-window rate limit and the debounce that batches
rapid messages into one turn."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.channels import InboundMessage
from openclaw.json_file import locked_json, read_json

PAIRING_FILE = "pairing.json"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 6
CODE_TTL = 3600.0  # seconds a pairing code stays valid, unless the channel says otherwise
MAX_PENDING = 10  # pending codes per channel, unless the channel says otherwise


class PairingError(LookupError):
    """A pairing code or user that is not known; the message says what to check."""


@dataclass(frozen=True, slots=True)
class PairingRequest:
    code: str
    channel: str
    user_id: str
    chat_id: str
    created_at: float
    expires_at: float = 0.0


class PairingStore:
    """Pairing requests and approved users in `$OPENCLAW_HOME/pairing.json`.

    The gateway and `openclaw pairing` share the file, and every change is written atomically
    under a lock file (a new file renamed over the old). `is_approved`, asked on every message
    of a user the channel does not allow, keeps the approved users of the file it last read and
    reads again only when a `stat` of the file shows another (inode, size, mtime): an approval
    by the CLI still takes effect at the user's next message. The other calls read it afresh.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.reads = 0  # how many times the file was read (for tests and benchmarks)
        self._approved: tuple[tuple[int, int, int] | None, dict[str, list[str]]] | None = None

    def _read(self) -> dict[str, Any]:
        self.reads += 1
        return self._normalise(read_json(self.path, dict))

    def _stamp(self) -> tuple[int, int, int] | None:
        """What changes whenever the file is replaced or written: None when there is none."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        """Both tables present, expired codes dropped (in place)."""
        data.setdefault("pending", {})
        data.setdefault("approved", {})
        now = self.clock()
        for item in data["pending"].values():
            item.setdefault("expires_at", item["created_at"] + CODE_TTL)
        data["pending"] = {
            code: item for code, item in data["pending"].items() if now < item["expires_at"]
        }
        return data

    @contextlib.contextmanager
    def _change(self) -> Iterator[dict[str, Any]]:
        """Read, let the caller modify, write: under the file's lock (`openclaw.json_file`)."""
        with locked_json(self.path, dict, sort_keys=True) as data:
            yield self._normalise(data)

    def is_approved(self, channel: str, user_id: str) -> bool:
        stamp = self._stamp()
        if self._approved is None or self._approved[0] != stamp:
            self._approved = (stamp, self._read()["approved"])
        return user_id in self._approved[1].get(channel, [])

    def request(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        *,
        ttl: float = CODE_TTL,
        max_pending: int = MAX_PENDING,
    ) -> tuple[str | None, bool]:
        """The user's pending code and whether it is new (only a new code is sent, so a
        stranger cannot make the bot repeat itself). A new code is valid `ttl` seconds; with
        `max_pending` codes pending on the channel already, there is none: (None, False)."""
        with self._change() as data:
            pending = [item for item in data["pending"].values() if item["channel"] == channel]
            for code, item in data["pending"].items():
                if item["channel"] == channel and item["user_id"] == user_id:
                    return code, False
            if len(pending) >= max_pending:
                return None, False
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            now = self.clock()
            data["pending"][code] = {
                "channel": channel,
                "user_id": user_id,
                "chat_id": chat_id,
                "created_at": now,
                "expires_at": now + ttl,
            }
            return code, True

    def approve(self, code: str, channel: str | None = None) -> PairingRequest:
        """Approve the user who was given `code` (only on `channel`, when one is named)."""
        with self._change() as data:
            item = data["pending"].get(code.strip().upper())
            if item is None:
                raise PairingError(
                    f"no pending pairing code {code!r} (codes expire, after "
                    f"{CODE_TTL / 60:.0f} minutes unless the channel's pairing_code_ttl says "
                    "otherwise; `openclaw pairing list` shows them)"
                )
            if channel is not None and item["channel"] != channel:
                raise PairingError(f"code {code!r} was issued on {item['channel']}, not {channel}")
            del data["pending"][code.strip().upper()]
            approved = data["approved"].setdefault(item["channel"], [])
            if item["user_id"] not in approved:
                approved.append(item["user_id"])
            return PairingRequest(code.upper(), **item)

    def revoke(self, user_id: str, channel: str | None = None) -> list[str]:
        """Remove an approved user (from every channel unless one is named); returns the
        channels it was removed from."""
        with self._change() as data:
            removed = []
            for name, users in data["approved"].items():
                if (channel is None or name == channel) and user_id in users:
                    users.remove(user_id)
                    removed.append(name)
            if not removed:
                raise PairingError(f"user {user_id!r} is not an approved user")
            return removed

    def pending(self) -> list[PairingRequest]:
        return [PairingRequest(code, **item) for code, item in self._read()["pending"].items()]

    def approved(self) -> dict[str, list[str]]:
        return {name: list(users) for name, users in self._read()["approved"].items() if users}


class RateLimiter:
    """At most `limit` messages per `window` seconds for each key (a sliding window)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[Any, deque[float]] = {}

    def check(self, key: Any) -> float | None:
        """Count a message: None when it may pass, else the seconds until one may."""
        now = self.clock()
        stamps = self._seen.setdefault(key, deque())
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return self.window - (now - stamps[0])
        stamps.append(now)
        return None


@dataclass
class _Batch:
    messages: list[InboundMessage]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class Debouncer:
    """Batches messages that arrive within `delay` seconds of each other (at most `max_batch`)
    so that a thought typed as three quick messages gets one answer."""

    def __init__(self, delay: float, max_batch: int = 5) -> None:
        self.delay = delay
        self.max_batch = max_batch
        self._batches: dict[Any, _Batch] = {}

    async def submit(self, key: Any, message: InboundMessage) -> list[InboundMessage] | None:
        """The batch to answer, for the call that opened it once the messages stop coming;
        None for the messages that joined someone else's batch."""
        if self.delay <= 0:
            return [message]
        batch = self._batches.get(key)
        if batch is not None:
            batch.messages.append(message)
            if len(batch.messages) >= self.max_batch:
                del self._batches[key]  # full: the next message opens a new batch
            batch.arrived.set()
            return None
        batch = self._batches[key] = _Batch([message])
        while len(batch.messages) < self.max_batch:
            batch.arrived.clear()
            try:
                await asyncio.wait_for(batch.arrived.wait(), self.delay)
            except TimeoutError:
                break
        if self._batches.get(key) is batch:
            del self._batches[key]
        return batch.messages


def merge(messages: list[InboundMessage]) -> InboundMessage:
    """One message from a batch: the texts on separate lines, every attachment, and the last
    message's id to reply to."""
    if len(messages) == 1:
        return messages[0]
    last = messages[-1]
    return InboundMessage(
        channel=last.channel,
        user_id=last.user_id,
        chat_id=last.chat_id,
        text="\n".join(m.text for m in messages if m.text),
        attachments=[a for m in messages for a in m.attachments],
        message_id=last.message_id,
        raw=last.raw,
    )
