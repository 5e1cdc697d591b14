"""The sandbox policy every tool and script plugin goes through.

Three layers, because a blocklist alone can always be bypassed:
1. a command blocklist (dangerous patterns, matched through quoting and wrappers),
2. a path allowlist (the workspace by default) decided on fully resolved paths, symlinks included,
3. OS isolation with bubblewrap when available (or required): the workspace read-write, the rest
   read-only, no network unless configured, a new PID namespace.
A denial raises `SandboxDenied`, a `ToolError` whose message names the rule, so the model reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from openclaw.tools import ToolError

if TYPE_CHECKING:
    from openclaw.config import Config


class SandboxDenied(ToolError):
    """The sandbox refused an action; the message names the rule that refused it."""


@dataclass(slots=True)
class ProcessResult:
    """How a sandboxed command ended. Output is decoded text, capped with a marker."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    isolation: Literal["bubblewrap", "none"] = "none"


class SandboxPolicy:
    """Decides what commands may run and which paths may be read or written.

    Build it with `SandboxPolicy.from_config(config)`; the same policy object serves every tool.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        allowed_paths: Sequence[Path] = (),
        blocked_commands: Sequence[str] = (),
        isolation: Literal["auto", "bubblewrap", "none"] = "auto",
        exec_timeout: float = 60.0,
    ) -> None:
        raise NotImplementedError  # implemented with the sandbox work of the tools issue

    @classmethod
    def from_config(cls, config: Config) -> SandboxPolicy:
        raise NotImplementedError

    def check_command(self, command: str) -> None:
        """Raise SandboxDenied naming the rule when `command` matches the blocklist."""
        raise NotImplementedError

    def resolve_path(self, path: str | Path, *, write: bool = False) -> Path:
        """The absolute, symlink-resolved path (relative paths are relative to the workspace);
        raise SandboxDenied when it falls outside the allowlist."""
        raise NotImplementedError

    def clamp_timeout(self, requested: float | None) -> float:
        """`requested` limited to the configured maximum (the maximum when None)."""
        raise NotImplementedError

    async def run(
        self,
        command: str | Sequence[str],
        *,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        output_limit: int = 64_000,
    ) -> ProcessResult:
        """Run a command (a shell string, or an argv list) under the policy and isolation."""
        raise NotImplementedError

    def check_url(self, url: str) -> None:
        """Raise SandboxDenied for non-http(s) URLs and, unless allowed in the config, for hosts
        that resolve to private, loopback, link-local or otherwise internal addresses (SSRF)."""
        raise NotImplementedError
