"""At-least-once delivery, answered once: what the gateway does with its delivery records.

A channel records each platform message (`Gateway.record`) before it confirms it to the platform
(Telegram's offset, a webhook's 200), so a crash loses nothing; the record is keyed by channel,
chat and message id, so a redelivered message is dropped instead of answered twice. At start-up
the gateway resumes every message that has no finished answer; this module decides how, from
the record and what the session holds since its turn began:

- the turn never stored the user's message: the channel hands the message over again, as if it
  had just arrived (`Channel.redeliver`; a channel that cannot asks the user to send it again);
- the turn stored its final answer but was cut while showing it: that answer is sent again;
- the turn was cut before its answer: it is continued from the stored history (the user's
  message, finished tool rounds), so nothing already done is repeated; when a later message of
  the same chat has been answered meanwhile, it is handed over again instead.

A resumed answer starts with `RESUMED_NOTE`. A message whose turns were cut `MAX_RESTARTS`
times is given up with `GAVE_UP_REPLY`, so a message that crashes the gateway cannot loop (the
texts live in `openclaw.delivery_texts`, below the gateway, for channel plugins to read).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

# re-exported: the texts live below the gateway, so that channel plugins may read them
from openclaw.delivery_texts import GAVE_UP_REPLY as GAVE_UP_REPLY
from openclaw.delivery_texts import RESEND_REPLY as RESEND_REPLY
from openclaw.delivery_texts import RESUMED_NOTE as RESUMED_NOTE
from openclaw.messages import Message
from openclaw.store import Inbound

MAX_RESTARTS = 3
"""Restarts that cut the same message's turn before it is given up."""


def delivery_id(chat_id: str, message_id: str) -> str:
    """The record key of a platform message: message ids are unique per chat on some platforms
    (Telegram), so the chat is part of it."""
    return f"{chat_id}/{message_id}"


@dataclass(frozen=True, slots=True)
class Resumption:
    """How to answer one cut turn: `records` are the messages it answers (a debounced batch
    shares one turn), the last one is replied to."""

    action: Literal["redeliver", "resend", "continue", "give_up"]
    records: list[Inbound]
    text: str = ""  # the stored answer, for `resend`

    @property
    def last(self) -> Inbound:
        return self.records[-1]


def plan(records: list[Inbound], history: list[Message] | None) -> Resumption:
    """The resumption of one group of records that share a turn (`group`); `history` is the
    active session's messages (None for records whose turn never started). The group is given
    up as soon as one of its messages was cut `MAX_RESTARTS` times."""
    if any(record.restarts >= MAX_RESTARTS for record in records):
        return Resumption("give_up", records)
    base = records[0].base
    if history is None or base is None or len(history) <= base:
        return Resumption("redeliver", records)
    # this turn's messages: its user message and what followed up to the next user message
    # (a later message of the same chat may have started its own turn meanwhile)
    tail = history[base:]
    own = tail[:1] + list(itertools.takewhile(lambda m: m.role != "user", tail[1:]))
    last = own[-1]
    if last.role == "assistant" and not last.tool_calls and len(own) > 1:
        return Resumption("resend", records, last.text)
    if len(own) < len(tail):  # the session went on without it: answer it afresh
        return Resumption("redeliver", records)
    return Resumption("continue", records)


def group(records: list[Inbound]) -> list[list[Inbound]]:
    """Records in the order they arrived, those one started turn answers (a debounced batch)
    together; every record that has not started is a group of its own."""
    groups: dict[tuple[str, ...], list[Inbound]] = {}
    for record in records:
        if record.state == "started" and record.turn_id is not None:
            key: tuple[str, ...] = (record.channel, record.turn_id)
        else:
            key = (record.channel, record.delivery_id)
        groups.setdefault(key, []).append(record)
    return list(groups.values())
