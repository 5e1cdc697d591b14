"""Tools: their declaration, JSON schemas from signatures or pydantic models, and safe execution.

Execution never raises into the agent loop: unknown tools, bad arguments, timeouts and crashes
become error results the model can read and act on.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, get_type_hints, runtime_checkable

from pydantic import BaseModel, ValidationError, create_model

from openclaw.errors import ToolError
from openclaw.messages import ToolCall, ToolResult, valid_text
from openclaw.principal import OWNER, Principal
from openclaw.providers import ToolSpec
from openclaw.text_limits import truncate as truncate  # re-exported: tools.truncate

if TYPE_CHECKING:
    from openclaw.config import Config
    from openclaw.sandbox import SandboxPolicy
    from openclaw.services import Services


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What `register_tools` gets: the App's services. Tools keep it (or `services`) and use
    the store, the models or the shutdown callbacks when they run, not while registering."""

    services: Services

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def workspace(self) -> Path:
        return self.services.workspace

    @property
    def sandbox(self) -> SandboxPolicy:
        """The App's one sandbox policy: every tool confines paths, URLs and commands by it."""
        return self.services.sandbox


@dataclass(frozen=True, slots=True)
class ToolCallContext:
    """What a running tool gets: who is calling, where, and the App's services. `principal` is
    the user the turn acts for; a tool that reaches shared state shows and changes only what
    is theirs."""

    session_key: str
    services: Services
    call_id: str = ""
    principal: Principal = OWNER

    @property
    def workspace(self) -> Path:
        return self.services.workspace


ToolFunction = Callable[[dict[str, Any], ToolCallContext], Awaitable[str]]


@dataclass(slots=True)
class Tool:
    """A tool the model can call. `run(arguments, context)` returns text for the model.

    Raise `ToolError` for a failure the model should see as such; `timeout` (seconds) overrides
    the agent's default per-tool timeout.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    run: ToolFunction
    timeout: float | None = None
    validator: type[BaseModel] | None = field(default=None, repr=False)
    origin: str = ""  # where the tool was declared, when not a plugin's code (a manifest path)

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


@runtime_checkable
class ToolSource(Protocol):
    """Tools listed afresh at each turn (script manifests, per-workspace tools).

    `problems` holds what the last listing skipped and why (a malformed manifest, a name
    clash); `openclaw tools` shows it.
    """

    name: str
    problems: list[str]

    def tools(self, context: ToolCallContext) -> list[Tool]: ...


def _signature_model(func: Callable[..., Any]) -> type[BaseModel]:
    hints = get_type_hints(func)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(func).parameters.items():
        annotation = hints.get(name, Any)
        if annotation is ToolCallContext:
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    return create_model(f"{func.__name__}_arguments", **fields)


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    arguments: type[BaseModel] | None = None,
    timeout: float | None = None,
) -> Any:
    """Make a `Tool` from a function (sync or async) whose parameters are the tool's arguments.

    The JSON schema comes from `arguments` (a pydantic model whose fields are the function's
    keyword parameters) or from the signature; the description from the docstring. A parameter
    annotated `ToolCallContext` receives the context.
    """

    def build(fn: Callable[..., Any]) -> Tool:
        model = arguments or _signature_model(fn)
        schema = model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        wants_context = [
            param
            for param, hint in get_type_hints(fn).items()
            if hint is ToolCallContext and param != "return"
        ]

        async def run(args: dict[str, Any], context: ToolCallContext) -> str:
            values = model.model_validate(args)
            kwargs = {key: getattr(values, key) for key in type(values).model_fields}
            for param in wants_context:
                kwargs[param] = context
            result = fn(**kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result if isinstance(result, str) else str(result)

        doc = inspect.getdoc(fn) or ""
        return Tool(
            name=name or fn.__name__,
            description=description or doc,
            parameters=schema,
            run=run,
            timeout=timeout,
            validator=model,
        )

    return build(func) if func is not None else build


async def execute(
    call: ToolCall,
    tools: dict[str, Tool],
    context: ToolCallContext,
    *,
    default_timeout: float,
    output_chars: int,
    before_call: Callable[[str, dict[str, Any], ToolCallContext], Any] | None = None,
) -> tuple[ToolResult, float]:
    """Run one tool call; every failure becomes an error result. Returns (result, elapsed ms)."""
    started = time.perf_counter()

    def done(content: str, is_error: bool = False) -> tuple[ToolResult, float]:
        elapsed = (time.perf_counter() - started) * 1000
        text = truncate(valid_text(content), output_chars)
        return ToolResult(call.id, call.name, text, is_error), elapsed

    found = tools.get(call.name)
    if found is None:
        known = ", ".join(sorted(tools)) or "none"
        return done(f"Error: unknown tool {call.name!r}. Available tools: {known}.", True)
    try:
        arguments = call.parsed_arguments()
    except ValueError as exc:
        return done(f"Error: {exc}. Call {call.name} again with a JSON object.", True)
    if before_call is not None:
        verdict = before_call(call.name, arguments, context)
        if isinstance(verdict, str):
            return done(f"Error: call denied: {verdict}", True)
        if isinstance(verdict, dict):
            arguments = verdict
    timeout = found.timeout or default_timeout
    try:
        output = await asyncio.wait_for(found.run(arguments, context), timeout)
    except TimeoutError:
        return done(f"Error: {call.name} timed out after {timeout:g}s.", True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
            for err in exc.errors()
        )
        return done(f"Error: invalid arguments for {call.name}: {problems}", True)
    except ToolError as exc:
        return done(f"Error: {exc}", True)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return done(f"Error: {call.name} failed: {type(exc).__name__}: {exc}", True)
    return done(output)
