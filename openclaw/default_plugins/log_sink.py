"""The structlog event sink: one log line per notable event, console or JSON, secrets redacted."""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

from openclaw.events import Event
from openclaw.hookspecs import hookimpl
from openclaw.lean_import import import_structlog
from openclaw.redaction import is_secret_name, redact_data

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
EVENT_LEVELS = {
    "turn.started": "debug",
    "round.started": "debug",
    "tool.started": "debug",
    "tool.finished": "info",
    "turn.finished": "info",
    "turn.failed": "warning",
    "provider.fallback": "warning",
    "message.received": "debug",
    "rate.limited": "info",
    "busy.rejected": "warning",
}


def redact_fields(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: mask secret-named fields, and secrets inside every other value
    (`openclaw.redaction.redact`)."""
    for key, value in list(event_dict.items()):
        if is_secret_name(key):
            event_dict[key] = "********"
        else:
            event_dict[key] = redact_data(value)
    return event_dict


class LogSink:
    """Logs events through a private structlog logger (no global logging config is touched)."""

    name = "log"

    def __init__(self, level: str = "info", fmt: str = "console", stream: TextIO | None = None):
        self.level = LEVELS[level]
        self.format = fmt
        self.stream = stream
        self._logger: Any = None

    def warm(self) -> None:
        """Import structlog and build the logger now (the gateway does it at start, from a
        background thread), rather than in the first turn's `turn.finished`."""
        self._get_logger()

    def _get_logger(self) -> Any:
        if self._logger is None:
            structlog = import_structlog()
            renderer: Any = (
                structlog.processors.JSONRenderer()
                if self.format == "json"
                else structlog.dev.ConsoleRenderer(colors=False)
            )
            self._logger = structlog.wrap_logger(
                structlog.PrintLogger(self.stream or sys.stderr),
                processors=[
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso"),
                    redact_fields,
                    renderer,
                ],
            )
        return self._logger

    def handle(self, event: Event) -> None:
        level = EVENT_LEVELS.get(event.type)
        if level is None or LEVELS[level] < self.level:
            return
        fields = event.to_dict()
        fields.pop("type")
        fields.pop("text", None)  # message text is the user's business, not the log's
        usage = fields.pop("usage", None)
        if usage is not None:
            fields["tokens"] = usage.total
        getattr(self._get_logger(), level)(event.type, **fields)


@hookimpl
def register_sinks(register: Any, config: Any) -> None:
    """The config's `logging` section configures the sink as it is made, before any event."""
    register(LogSink(level=config.logging.level, fmt=config.logging.format))
