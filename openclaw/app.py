"""`App`: the kernel with the agent, in one object. Embed it to run turns from your own program;
the CLI and the gateway are built on it too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING

from openclaw.agent import Agent
from openclaw.events import Event, TurnError, TurnFailed, TurnFinished
from openclaw.kernel import DEFAULT_SESSION, Kernel
from openclaw.principal import OWNER, Principal

if TYPE_CHECKING:
    from openclaw.config import Config
    from openclaw.messages import ContentPart
    from openclaw.store import SessionStore

__all__ = ["DEFAULT_SESSION", "App", "TurnError"]


class App(Kernel):
    """The kernel. Build it, `await startup()`, run turns, `await shutdown()` (or use
    `async with App(...) as app`).

    `plugins` are extra in-process plugin objects (modules or instances with hook
    implementations), optionally as `(name, object)` pairs; they are asked first and win name
    clashes. `entry_points=False` leaves out installed plugins (useful in tests and when
    embedding). `environ` replaces `os.environ` for the config's `$VAR` secrets and the
    providers' key variables. `store` is a session store to use instead of the config's.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        plugins: Iterable[object] = (),
        entry_points: bool = True,
        environ: Mapping[str, str] | None = None,
        store: SessionStore | None = None,
    ) -> None:
        super().__init__(
            config, plugins=plugins, entry_points=entry_points, environ=environ, store=store
        )
        self.agent = Agent(self.services, self.registry, self.plugins)
        self.services.attach(
            turns=self, tool_names=lambda: set(self.registry.tools), status=self.status
        )

    def run_turn(
        self,
        content: str | list[ContentPart] | None,
        *,
        session_key: str | None = None,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> AsyncIterator[Event]:
        """Run one agent turn and iterate its events (`text.delta`, `tool.started`, ...); its
        tools act for `principal` (default: the owner, who may reach everything). `content`
        None continues the session from its stored history."""
        key = session_key or self.default_session()
        return self.agent.run(key, content, model=model, principal=principal)

    async def ask(
        self,
        content: str | list[ContentPart],
        *,
        session_key: str | None = None,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> TurnFinished:
        """Run one turn to the end; raises TurnError if it failed. A cancelled caller stops
        the turn too (the event stream is closed on the way out)."""
        events = self.run_turn(content, session_key=session_key, model=model, principal=principal)
        try:
            async for event in events:
                if isinstance(event, TurnFinished):
                    return event
                if isinstance(event, TurnFailed):
                    raise TurnError(event)
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()
        raise RuntimeError("the turn ended without a result")  # pragma: no cover
