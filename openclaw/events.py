"""Typed events and the bus that fans them out to sinks, each sink isolated from the others."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from openclaw.messages import Usage

log = logging.getLogger("openclaw.events")


@dataclass(slots=True)
class Event:
    """Base of every event; `type` is the dotted name sinks and the docs use."""

    type: ClassVar[str] = "event"
    session_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["type"] = self.type
        return data


@dataclass(slots=True)
class TurnStarted(Event):
    type: ClassVar[str] = "turn.started"
    model: str = ""


@dataclass(slots=True)
class RoundStarted(Event):
    type: ClassVar[str] = "round.started"
    round: int = 1


@dataclass(slots=True)
class TextDelta(Event):
    type: ClassVar[str] = "text.delta"
    text: str = ""


@dataclass(slots=True)
class ToolStarted(Event):
    type: ClassVar[str] = "tool.started"
    call_id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class ToolFinished(Event):
    type: ClassVar[str] = "tool.finished"
    call_id: str = ""
    name: str = ""
    ok: bool = True
    elapsed_ms: float = 0.0
    output_chars: int = 0


@dataclass(slots=True)
class ProviderFallback(Event):
    type: ClassVar[str] = "provider.fallback"
    failed: str = ""
    error: str = ""
    next: str = ""
    last_resort: bool = False  # `next` is an offline last-resort model, not a configured one


@dataclass(slots=True)
class TurnFinished(Event):
    type: ClassVar[str] = "turn.finished"
    text: str = ""
    elapsed_ms: float = 0.0
    rounds: int = 0
    tools: int = 0
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    stopped: str = ""  # "" when the model finished; "max_rounds" when the loop was cut off
    tools_offered: bool = True  # False when the answering model does not support tools

    def footer(self) -> str:
        """The stats line shown under a reply."""
        model = self.model if self.tools_offered else f"{self.model} (no tools)"
        return (
            f"{self.elapsed_ms:.0f}ms · {self.rounds} round(s) · {self.tools} tool(s) · "
            f"{self.usage.total} tokens · {model}"
        )


@dataclass(slots=True)
class TurnFailed(Event):
    type: ClassVar[str] = "turn.failed"
    error: str = ""
    kind: str = "error"  # "error", "timeout", "cancelled", "providers", "provider"


class TurnError(Exception):
    """A turn ended without an answer; `event` says why (timeout, providers down, ...)."""

    def __init__(self, event: TurnFailed) -> None:
        super().__init__(event.error)
        self.event = event


@dataclass(slots=True)
class MessageReceived(Event):
    type: ClassVar[str] = "message.received"
    channel: str = ""
    user_id: str = ""


@dataclass(slots=True)
class RateLimited(Event):
    type: ClassVar[str] = "rate.limited"
    channel: str = ""
    user_id: str = ""
    retry_after: float = 0.0


@dataclass(slots=True)
class BusyRejected(Event):
    type: ClassVar[str] = "busy.rejected"
    channel: str = ""
    user_id: str = ""


@runtime_checkable
class Sink(Protocol):
    """Receives every event. `handle` may be sync or async; an exception is logged, not raised."""

    name: str

    def handle(self, event: Event) -> Any: ...


class EventBus:
    """Delivers events to every sink; a failing sink is logged and counted, the others go on."""

    def __init__(self) -> None:
        self.sinks: list[Sink] = []
        self.sink_errors: dict[str, int] = {}

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink)

    async def emit(self, event: Event) -> None:
        for sink in self.sinks:
            try:
                result = sink.handle(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.sink_errors[sink.name] = self.sink_errors.get(sink.name, 0) + 1
                log.exception("event sink %r failed on %s", sink.name, event.type)

    async def aclose(self) -> None:
        """Flush and close sinks that have an `aclose` or `close`."""
        for sink in self.sinks:
            closer = getattr(sink, "aclose", None) or getattr(sink, "close", None)
            if closer is None:
                continue
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("event sink %r failed to close", sink.name)
