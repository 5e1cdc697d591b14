"""The agent turn: stream from the provider chain, run tool calls in parallel, repeat, persist.

A turn runs in its own task and reports typed events through a queue, so the consumer (a
channel's streaming reply, the CLI) can be slow or stop early without stalling or corrupting
the turn. Timeouts and cancellation leave the session with no dangling tool call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from openclaw.agent.context import PromptFiles, build_system_prompt, select_history
from openclaw.events import (
    Event,
    ProviderFallback,
    RoundStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
    TurnStarted,
)
from openclaw.messages import ContentPart, Message, ToolCall, ToolResult, Usage
from openclaw.plugins import collect, first_result
from openclaw.principal import OWNER, Principal
from openclaw.providers import (
    ChatDelta,
    ChatProvider,
    ChatRequest,
    ChatResult,
    FallbackEvent,
    NoProviderAvailable,
    ProviderError,
)
from openclaw.tools import Tool, ToolCallContext, execute

if TYPE_CHECKING:
    from openclaw.plugins import PluginManager
    from openclaw.registry import Registry
    from openclaw.services import Events, Services

log = logging.getLogger("openclaw.agent")

MAX_ROUNDS_NOTE = "[stopped: reached the limit of {n} tool rounds for one turn]"


@dataclass
class TurnState:
    """What a turn has done so far; also what a cancelled turn must tidy up."""

    session_key: str
    principal: Principal = OWNER
    started: float = field(default_factory=time.perf_counter)
    rounds: int = 0
    tools: int = 0
    usage: Usage = field(default_factory=Usage)
    text: str = ""
    partial: str = ""  # text streamed in the current round, not yet persisted
    pending_calls: list[ToolCall] = field(default_factory=list)
    model: str = ""
    tools_offered: bool = True


class Agent:
    """Runs turns with an App's services: builds the prompt, talks to the models, runs the
    registered tools (and those of tool sources), persists."""

    def __init__(self, services: Services, registry: Registry, plugins: PluginManager) -> None:
        self.services = services
        self.registry = registry
        self.plugins = plugins
        self.prompt_files = PromptFiles(services.workspace, files=services.files)

    def model_refs(self, session_key: str, override: str | None = None) -> list[str]:
        """The chain for a turn: the override or the session's model, then the configured
        model and fallbacks, then any last-resort offline model."""
        preferred = override or self.services.store.session_model(session_key)
        return self.services.models.refs(preferred)

    def system_prompt(self, session_key: str) -> str:
        services = self.services
        extras = collect(
            self.plugins,
            "extend_system_prompt",
            session_key=session_key,
            workspace=str(services.workspace),
        )
        return build_system_prompt(services.config.agent.name, self.prompt_files, extras)

    def tools_for(self, context: ToolCallContext) -> dict[str, Tool]:
        tools = {name: r.value for name, r in self.registry.tools.items()}
        for source in self.registry.tool_sources:
            try:
                listed = source.value.tools(context)
            except Exception as exc:
                self.services.log_problem(f"tool source {source.value.name!r} failed: {exc}")
                continue
            for tool in listed:
                tools.setdefault(tool.name, tool)
        return tools

    def run(
        self,
        session_key: str,
        content: str | list[ContentPart] | None,
        *,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> AsyncIterator[Event]:
        """Start a turn and iterate its events; closing the iterator early cancels the turn.
        The turn's tools act for `principal`. `content` None continues the session as stored
        (a turn cut by a restart)."""
        turn = functools.partial(self._turn, session_key, content, model, principal)
        return _EventStream(turn, self.services.events)

    async def _turn(
        self,
        session_key: str,
        content: str | list[ContentPart] | None,
        model: str | None,
        principal: Principal,
        emit: Any,
    ) -> None:
        services = self.services
        config = services.config.agent
        state = TurnState(session_key, principal)
        refs = self.model_refs(session_key, model)
        await emit(TurnStarted(session_key=session_key, model=refs[0]))
        try:
            async with asyncio.timeout(config.turn_timeout):
                if content is not None:
                    services.store.append(session_key, Message(role="user", content=content))
                await self._rounds(state, refs, emit)
        except TimeoutError:
            self._tidy(state, "timed out")
            await emit(
                TurnFailed(
                    session_key=session_key,
                    error=f"the turn took longer than {config.turn_timeout:g}s and was stopped",
                    kind="timeout",
                )
            )
        except asyncio.CancelledError:
            self._tidy(state, "cancelled")
            await emit(TurnFailed(session_key=session_key, error="cancelled", kind="cancelled"))
            raise
        except NoProviderAvailable as exc:
            await emit(TurnFailed(session_key=session_key, error=str(exc), kind="providers"))
        except ProviderError as exc:
            self._tidy(state, "failed")
            await emit(TurnFailed(session_key=session_key, error=str(exc), kind="provider"))
        except Exception as exc:
            log.exception("turn in %s failed", session_key)
            self._tidy(state, "failed")
            await emit(TurnFailed(session_key=session_key, error=f"{type(exc).__name__}: {exc}"))

    async def _rounds(self, state: TurnState, refs: list[str], emit: Any) -> None:
        services = self.services
        store, models = services.store, services.models
        config = services.config.agent
        key = state.session_key
        system = Message(role="system", content=self.system_prompt(key))
        call_context = ToolCallContext(key, services, principal=state.principal)
        tools = self.tools_for(call_context)
        specs = [tool.spec() for tool in tools.values()]

        def request_for(model_name: str, provider: ChatProvider) -> ChatRequest:
            recent = store.history(key, tokens=config.history_tokens)
            history = select_history(recent, config.history_tokens)
            offered = specs if getattr(provider, "supports_tools", True) else []
            return ChatRequest(model=model_name, messages=[system, *history], tools=offered)

        last_resort = set(models.last_resort_refs())

        async def on_fallback(event: FallbackEvent) -> None:
            await emit(
                ProviderFallback(
                    key, event.failed, event.error, event.next, event.next in last_resort
                )
            )

        while True:
            if state.rounds >= config.max_rounds:
                note = MAX_ROUNDS_NOTE.format(n=config.max_rounds)
                store.append(key, Message(role="assistant", content=note))
                state.text = f"{state.text}\n\n{note}".strip()
                await self._finish(state, emit, stopped="max_rounds")
                return
            state.rounds += 1
            await emit(RoundStarted(session_key=key, round=state.rounds))
            result: ChatResult | None = None
            time_left = config.turn_timeout - (time.perf_counter() - state.started)
            async for event in models.stream(
                refs,
                request_for,
                on_fallback,
                time_left=time_left,
                first_token_timeout=config.first_token_timeout,
            ):
                if isinstance(event, ChatDelta):
                    state.partial += event.text
                    await emit(TextDelta(session_key=key, text=event.text))
                else:
                    result = event
            assert result is not None, "a provider stream ended without a result"
            state.usage.add(result.usage)
            state.model = result.model
            state.tools_offered = getattr(models.resolve(result.model), "supports_tools", True)
            state.partial = ""
            text = result.text
            if text:
                state.text = f"{state.text}\n\n{text}".strip() if state.text else text
            if not result.tool_calls:
                store.append(
                    key,
                    Message(role="assistant", content=text),
                    tokens=result.usage.output_tokens,
                    model=result.model,
                )
                await self._finish(state, emit)
                return
            state.pending_calls = list(result.tool_calls)
            state.tools += len(result.tool_calls)
            assistant = Message(role="assistant", content=text, tool_calls=result.tool_calls)
            results = await self._run_tools(result.tool_calls, tools, call_context, emit)
            store.append_round(
                key,
                assistant,
                [Message.tool_result(tool_result) for tool_result in results],
                tokens=result.usage.output_tokens,
                model=result.model,
            )
            state.pending_calls = []

    async def _run_tools(
        self,
        calls: list[ToolCall],
        tools: dict[str, Tool],
        context: ToolCallContext,
        emit: Any,
    ) -> list[ToolResult]:
        config = self.services.config.agent

        def before_call(name: str, arguments: dict[str, Any], ctx: ToolCallContext) -> Any:
            return first_result(
                self.plugins,
                "before_tool_call",
                lambda plugin, exc: f"the policy plugin {plugin!r} failed ({exc})",
                name=name,
                arguments=arguments,
                context=ctx,
            )

        for call in calls:
            await emit(ToolStarted(context.session_key, call.id, call.name, call.arguments))

        async def one(call: ToolCall) -> ToolResult:
            call_context = replace(context, call_id=call.id)
            result, elapsed = await execute(
                call,
                tools,
                call_context,
                default_timeout=config.tool_timeout,
                output_chars=config.tool_output_chars,
                before_call=before_call,
            )
            await emit(
                ToolFinished(
                    context.session_key,
                    call.id,
                    call.name,
                    not result.is_error,
                    elapsed,
                    len(result.content),
                )
            )
            return result

        results = await asyncio.gather(*(one(call) for call in calls))
        return list(results)

    async def _finish(self, state: TurnState, emit: Any, stopped: str = "") -> None:
        elapsed = (time.perf_counter() - state.started) * 1000
        await emit(
            TurnFinished(
                session_key=state.session_key,
                text=state.text,
                elapsed_ms=elapsed,
                rounds=state.rounds,
                tools=state.tools,
                usage=state.usage,
                model=state.model,
                stopped=stopped,
                tools_offered=state.tools_offered,
            )
        )

    def _tidy(self, state: TurnState, why: str) -> None:
        """Leave the session consistent after an interrupted turn: keep streamed text and
        answer every started tool call, so the next turn's history is valid."""
        store = self.services.store
        key = state.session_key
        if state.pending_calls:
            calls, state.pending_calls = state.pending_calls, []
            store.append_round(
                key,
                Message(role="assistant", content="", tool_calls=calls),
                [
                    Message.tool_result(
                        ToolResult(call.id, call.name, f"Error: tool call {why}.", True)
                    )
                    for call in calls
                ],
            )
        if state.partial:
            store.append(key, Message(role="assistant", content=f"{state.partial} [{why}]"))
            state.partial = ""


class _EventStream:
    """Runs a turn coroutine in its own task and yields its events (also sent to the bus)."""

    def __init__(self, turn: Any, events: Events) -> None:
        self._turn = turn
        self._events = events
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def __aiter__(self) -> _EventStream:
        return self

    async def _emit(self, event: Event) -> None:
        await self._events.emit(event)
        self._queue.put_nowait(event)

    async def _run(self) -> None:
        try:
            await self._turn(emit=self._emit)
        finally:
            self._queue.put_nowait(None)

    async def __anext__(self) -> Event:
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        event = await self._queue.get()
        if event is None:
            if self._task.done() and not self._task.cancelled():
                exc = self._task.exception()
                if exc is not None:
                    raise exc
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop the turn if it is still running and wait until it has tidied up."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
