"""The heartbeat: an optional periodic agent turn over the workspace's `HEARTBEAT.md` (a
checklist the user keeps), run by the cron executor. The agent answers `HEARTBEAT_OK` when
nothing needs attention, and then nothing is sent; any other answer is delivered.

The state lives in memory (the gateway's `/status` shows it): the first beat is one interval
after the gateway starts, and beats missed while the loop was busy collapse into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from openclaw.active_hours import parse_active_hours
from openclaw.cron import parse_interval, parse_timezone

if TYPE_CHECKING:
    from pathlib import Path

    from openclaw.config import HeartbeatConfig

HEARTBEAT_FILE = "HEARTBEAT.md"
OK_TOKEN = "HEARTBEAT_OK"
_DECORATION = " \t\r\n*_`.!'\""  # markdown and punctuation a model may wrap the token in


def in_active_hours(now: datetime, active_hours: str | None, timezone: str) -> bool:
    """Whether `now` falls in the active hours, read on the wall clock of `timezone`."""
    if active_hours is None:
        return True
    start, end = parse_active_hours(active_hours)
    wall = now.astimezone(parse_timezone(timezone)).time().replace(tzinfo=None)
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def is_ok(answer: str) -> bool:
    """Whether the answer is the all-clear token alone (markdown or punctuation around it is
    tolerated, any other text is not)."""
    return answer.strip(_DECORATION) == OK_TOKEN


@dataclass
class Heartbeat:
    """When the next beat is due and how the last one went."""

    config: HeartbeatConfig
    workspace: Path
    next_due: datetime
    last_run: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None

    @classmethod
    def starting(cls, config: HeartbeatConfig, workspace: Path, now: datetime) -> Heartbeat:
        return cls(config, workspace, now + parse_interval(config.every))

    @property
    def interval(self) -> timedelta:
        return parse_interval(self.config.every)

    def advance(self, now: datetime) -> None:
        """Move `next_due` to the first beat after `now`, keeping the phase."""
        steps = (now - self.next_due) // self.interval + 1
        self.next_due += max(steps, 1) * self.interval

    def message(self) -> str | None:
        """The turn's text: the prompt and the checklist; None when there is no checklist
        (a missing or blank HEARTBEAT.md costs no turn)."""
        path = self.workspace / HEARTBEAT_FILE
        try:
            checklist = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not checklist:
            return None
        return f"{self.config.prompt}\n\n--- {HEARTBEAT_FILE} ---\n{checklist}"

    def status(self) -> dict[str, Any]:
        target = self.config.target
        return {
            "enabled": True,
            "every": self.config.every,
            "active_hours": self.config.active_hours,
            "target": f"{target.channel}:{target.chat}" if target else None,
            "next_due": self.next_due.astimezone(UTC).isoformat(),
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }
