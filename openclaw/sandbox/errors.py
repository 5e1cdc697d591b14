"""How the sandbox says no: `SandboxDenied`, whose message names the rule that refused."""

from __future__ import annotations

from openclaw.errors import ToolError


class SandboxDenied(ToolError):
    """The sandbox refused an action; the message names the rule that refused it."""


def deny(rule: str, detail: str) -> SandboxDenied:
    return SandboxDenied(f"blocked by sandbox rule '{rule}': {detail}")
