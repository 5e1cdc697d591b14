"""A sink that keeps every event, for asserting what a turn did."""

from __future__ import annotations

from typing import Any

from openclaw.events import Event
from openclaw.hookspecs import hookimpl


class RecordingSink:
    name = "recording"

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def of_type(self, event_type: str) -> list[Any]:
        return [event for event in self.events if event.type == event_type]

    def plugin(self) -> tuple[str, object]:
        """A (name, plugin) pair registering this sink, for `App(plugins=[...])`."""
        sink = self

        class _Plugin:
            @hookimpl
            def register_sinks(self, register: Any) -> None:
                register(sink)

        return "recording-sink", _Plugin()
