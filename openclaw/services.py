"""`Services`: everything a plugin is handed, and nothing more.

Tools, commands, channels and the `startup`/`shutdown` hooks get one `Services` object (through
their context or as an argument), never the App or the gateway: the config and the workspace,
the one sandbox policy of the App, the session store, the models, the event emitter, running
turns, the cron scheduler when the gateway runs one, and the App's lifecycle (shutdown
callbacks, problems). Each is a small typed protocol or a kernel class, so a plugin written
against them keeps working however the kernel above is arranged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from openclaw.principal import OWNER, Principal

if TYPE_CHECKING:
    from openclaw.config import Config
    from openclaw.cron import Job
    from openclaw.events import Event, TurnFinished
    from openclaw.messages import ContentPart
    from openclaw.models import Models
    from openclaw.sandbox import SandboxPolicy, WorkspaceFiles
    from openclaw.store import SessionStore

log = logging.getLogger("openclaw")


class Events(Protocol):
    """The App's event bus, as plugins see it: emit an event to every sink."""

    async def emit(self, event: Event) -> None: ...


class Turns(Protocol):
    """Running agent turns (the `/voice` command and cron jobs ask the agent themselves)."""

    def run_turn(
        self,
        content: str | list[ContentPart] | None,
        *,
        session_key: str | None = None,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> AsyncIterator[Event]: ...

    async def ask(
        self,
        content: str | list[ContentPart],
        *,
        session_key: str | None = None,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> TurnFinished: ...


class CronControl(Protocol):
    """The cron scheduler the gateway runs (absent outside `openclaw gateway`)."""

    def wake(self) -> None:
        """Look at the jobs file now, after it was changed."""

    def trigger(self, job: Job) -> bool:
        """Run `job` now; False when it is running already."""
        ...

    def target_for(self, session_key: str) -> dict[str, str] | None:
        """The delivery target that answers into the conversation of `session_key`."""
        ...


class NotReady(RuntimeError):
    """A service was used while the App was still being built (during registration)."""


class Services:
    """What the kernel hands plugins. Built by the App before the plugins register; the parts
    that need the registry (`turns`, `tool_names`, `status`) are attached once it is built.
    `cron` is set while the gateway's scheduler runs, else None."""

    def __init__(
        self,
        config: Config,
        *,
        sandbox: SandboxPolicy,
        models: Models,
        events: Events,
        open_store: Callable[[], SessionStore],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from openclaw.sandbox import WorkspaceFiles

        self.config = config
        self.sandbox = sandbox
        self.files: WorkspaceFiles = WorkspaceFiles.of(sandbox)
        self.models = models
        self.events = events
        self.environ: Mapping[str, str] = environ if environ is not None else os.environ
        self.cron: CronControl | None = None
        self.problems: list[str] = []
        self.shutdown_callbacks: list[Callable[[], Any]] = []
        self._open_store = open_store
        self._store: SessionStore | None = None
        self._turns: Turns | None = None
        self._tool_names: Callable[[], set[str]] | None = None
        self._status: Callable[[], dict[str, Any]] | None = None

    @property
    def workspace(self) -> Path:
        return self.config.workspace

    @property
    def store(self) -> SessionStore:
        """The session store, opened on first use."""
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def turns(self) -> Turns:
        return self._ready(self._turns, "turns")

    def tool_names(self) -> set[str]:
        """The names of the tools plugins registered (a tool source avoids clashing)."""
        return self._ready(self._tool_names, "tool_names")()

    def status(self) -> dict[str, Any]:
        """The App's summary for `/status`, with no secrets."""
        return self._ready(self._status, "status")()

    def attach(
        self,
        *,
        turns: Turns,
        tool_names: Callable[[], set[str]],
        status: Callable[[], dict[str, Any]],
    ) -> None:
        """Called by the App once its registry is built."""
        self._turns, self._tool_names, self._status = turns, tool_names, status

    def on_shutdown(self, callback: Callable[[], Any]) -> None:
        """Run `callback` (sync or async) at shutdown, after the `shutdown` hooks: for resources
        a plugin opened for this App (background processes, browsers, clients)."""
        self.shutdown_callbacks.append(callback)

    def log_problem(self, problem: str) -> None:
        """Report something a plugin skipped or could not do (`/status` and `openclaw
        plugins` show it)."""
        log.warning(problem)
        self.problems.append(problem)

    @staticmethod
    def _ready(value: Any, name: str) -> Any:
        if value is None:
            raise NotReady(f"services.{name} is not available while plugins register")
        return value
