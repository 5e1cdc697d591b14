"""What the SDK-backed chat providers share: settings, key lookup, error mapping, usage estimate.

The vendor SDK is imported on first use only, so that loading a plugin stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import platform
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from openclaw.config import ProviderSettings
from openclaw.messages import ToolCall, Usage, estimate_tokens, message_tokens
from openclaw.providers import ChatEvent, ChatRequest, ProviderError, ToolSpec
from openclaw.redaction import redact

_PARSE_ERRORS = (ValueError, LookupError, TypeError, AttributeError)
"""What bad JSON or an unexpected chunk shape raises inside an SDK's stream parsing."""

NO_KEY = "no-key-needed"
"""Sent to servers that take no key (Ollama, llama.cpp, vLLM): the SDKs insist on one."""


class SDKSettings(ProviderSettings):
    """Settings of a provider backed by a vendor SDK."""

    api_key_env: str | None = None
    """Environment variable holding the key when `api_key` is not set; a key is then required."""
    base_url_env: str | None = None
    """Environment variable that, when set, overrides `base_url` (for one-off runs)."""
    headers: dict[str, str] = Field(default_factory=dict)
    supports_tools: bool = True


def resolve_api_key(instance: str, ref: str, settings: SDKSettings) -> str:
    """The configured key, else the preset's environment variable, else NO_KEY when the
    provider needs none; raises ProviderError saying what to set when a needed key is missing."""
    configured = settings.secret(settings.api_key)
    from_env = settings.environ.get(settings.api_key_env) if settings.api_key_env else None
    if key := configured or from_env:
        return key
    if settings.api_key is None and settings.api_key_env is None:
        return NO_KEY
    variables = {settings.api_key_env, settings.api_key.env if settings.api_key else None}
    named = " or ".join(sorted(v for v in variables if v))
    where = f"providers.{instance}.api_key in the config"
    raise ProviderError(ref, f"no API key: set {named + ', or ' if named else ''}{where}")


def resolve_base_url(settings: SDKSettings) -> str | None:
    """`base_url`, unless the `base_url_env` variable is set."""
    override = settings.environ.get(settings.base_url_env) if settings.base_url_env else None
    return override or settings.base_url


def estimated_usage(request: ChatRequest, text: str, tool_calls: list[ToolCall]) -> Usage:
    """A chars/4 estimate for servers that report no usage (llama.cpp ignores `include_usage`)."""
    prompt = sum(message_tokens(message) for message in request.messages)
    if request.tools:
        prompt += estimate_tokens(json.dumps([asdict(tool) for tool in request.tools]))
    output = text + "".join(call.name + call.arguments for call in tool_calls)
    return Usage(prompt, estimate_tokens(output), estimated=True)


class WireBody:
    """A request body as JSON bytes, with each tool's JSON made once: the tool list is most of
    a request (a dozen schemas, ~13 KB) and the same from one turn to the next.

    A tool's JSON is kept under its name, description and the identity of its `parameters`
    (the dict a registered tool hands out every turn); the entry holds that dict, so the
    identity cannot be reused by another. Tools listed afresh each turn bring new dicts: the
    oldest entries make room for them."""

    def __init__(self, render: Callable[[ToolSpec], dict[str, Any]], size: int = 256) -> None:
        self._render = render
        self._size = size
        self._tools: dict[tuple[str, str, int], tuple[dict[str, Any], bytes]] = {}

    def tool(self, spec: ToolSpec) -> bytes:
        key = (spec.name, spec.description, id(spec.parameters))
        entry = self._tools.get(key)
        if entry is None or entry[0] is not spec.parameters:
            while len(self._tools) >= self._size:
                del self._tools[next(iter(self._tools))]
            entry = (spec.parameters, _json(self._render(spec)))
            self._tools[key] = entry
        return entry[1]

    def body(self, arguments: dict[str, Any], tools: list[ToolSpec]) -> bytes:
        """`arguments` as JSON, with `tools` (when there are any) from their kept JSON."""
        if not tools:
            return _json(arguments)
        listed = b",".join(self.tool(spec) for spec in tools)
        return _json(arguments)[:-1] + b',"tools":[' + listed + b"]}"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(slots=True)
class PartialCall:
    """A tool call being assembled from streamed fragments."""

    id: str = ""
    name: str = ""
    fragments: list[str] = field(default_factory=list)

    def build(self, fallback_id: str) -> ToolCall:
        return ToolCall(self.id or fallback_id, self.name, "".join(self.fragments) or "{}")


class SDKChatProvider(ABC):
    """A chat provider over a vendor SDK: builds its client once, on first use, and turns every
    failure into a ProviderError with a short message a user can act on."""

    sdk_module: ClassVar[str]
    client_class: ClassVar[str]

    def __init__(self, name: str, settings: SDKSettings) -> None:
        self.name = name
        self.settings = settings
        self.supports_tools = settings.supports_tools
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._client_lock = threading.Lock()

    def _make_client(self, api_key: str) -> Any:
        """The SDK's async client (both SDKs take the same arguments), on the SDK's aiohttp
        transport where it has one: half the CPU per streamed request of its default httpx
        transport, whose pure-Python HTTP parser and per-request pool scan dominate under load."""
        sdk = importlib.import_module(self.sdk_module)
        base_url = resolve_base_url(self.settings)
        aiohttp_client = getattr(sdk, "DefaultAioHttpClient", None)
        if base_url and urlsplit(base_url).username is not None:
            aiohttp_client = None  # aiohttp refuses a URL's credentials beside the key's header
        return getattr(sdk, self.client_class)(
            api_key=api_key,
            base_url=base_url,
            max_retries=self.settings.max_retries,
            timeout=self.settings.timeout,
            default_headers=self.settings.headers or None,
            http_client=aiohttp_client() if aiohttp_client is not None else None,
        )

    @abstractmethod
    def _events(self, client: Any, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """The call itself: deltas, then one ChatResult; SDK errors propagate."""

    def _get_client(self, ref: str) -> Any:
        """The client, made once; again in another event loop than the one it was first used
        in (an aiohttp session belongs to one loop)."""
        loop = _running_loop()
        with self._client_lock:  # `warm` may be building it in another thread
            if loop is not None and self._client_loop is not loop:
                if self._client_loop is not None:
                    self._client = None  # its session went with the other loop
                self._client_loop = loop
            if self._client is None:
                self._client = self._make_client(resolve_api_key(self.name, ref, self.settings))
            return self._client

    def warm(self) -> None:
        """Import the SDK and build the client now (from any thread), rather than in the
        first request; a missing key is reported by that request instead. The SDKs' first
        request also asks `platform.platform()` for their headers (2-7 ms: it reads the
        interpreter's binary for the libc version); asked here, the answer is cached."""
        with contextlib.suppress(ProviderError):
            self._get_client(f"{self.name}/*")
        platform.platform()

    async def check(self, timeout: float = 5.0) -> None:
        """List the server's models once, without retries: does it answer and take the key?"""
        ref = f"{self.name}/*"
        client = self._get_client(ref).with_options(max_retries=0, timeout=timeout)
        try:
            await client.models.list()
        except Exception as exc:
            sdk = importlib.import_module(self.sdk_module)
            base_url = str(client.base_url).rstrip("/")
            raise sdk_error(sdk, exc, ref, base_url, timeout, False) from exc

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        ref = f"{self.name}/{request.model}"
        client = self._get_client(ref)
        timeout = self.settings.timeout
        if request.timeout is not None and request.timeout < timeout:
            # What is left of the turn: the SDK's waits (and so its retries) must fit in it.
            timeout = request.timeout
            client = client.with_options(timeout=timeout)
        streamed = False
        try:
            async for event in self._events(client, request):
                streamed = True
                yield event
        except Exception as exc:
            sdk = importlib.import_module(self.sdk_module)
            base_url = str(client.base_url).rstrip("/")
            raise sdk_error(sdk, exc, ref, base_url, timeout, streamed) from exc

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client, self._client_loop = self._client, None, None
            await client.close()


def sdk_error(
    sdk: ModuleType, exc: Exception, ref: str, base_url: str, timeout: float, streamed: bool
) -> ProviderError:
    """Map a failure of an OpenAI or Anthropic SDK call (they share error class names) to a
    generic reason a chat may show; what the server said is kept as `detail` for the log."""
    transport = _httpx_failure(exc)
    base_url = redact(base_url)  # a password in the URL stays out of every message
    timed_out = isinstance(exc, sdk.APITimeoutError) and transport != "connection"
    if timed_out or transport == "timeout":
        return ProviderError(ref, f"timed out after {timeout:g}s waiting for {base_url}")
    if isinstance(exc, sdk.APIConnectionError) or transport == "connection":
        if streamed:
            return ProviderError(ref, f"connection to {base_url} lost mid-answer")
        return ProviderError(ref, f"cannot reach {base_url}")
    if isinstance(exc, sdk.APIStatusError) and exc.status_code >= 400:
        status = exc.status_code
        return ProviderError(ref, http_reason(status), status=status, detail=_error_detail(exc))
    if isinstance(exc, (sdk.APIResponseValidationError, *_PARSE_ERRORS)):
        return ProviderError(ref, "malformed response stream")
    if isinstance(exc, sdk.APIError):  # an error event inside a stream
        return ProviderError(ref, "error event in the stream", detail=_error_detail(exc))
    return ProviderError(ref, f"unexpected {type(exc).__name__}", detail=_shorten(str(exc)))


HTTP_REASONS = {
    400: "bad request",
    401: "authentication",
    402: "payment required",
    403: "permission denied",
    404: "not found",
    408: "timeout",
    409: "conflict",
    413: "request too large",
    422: "unprocessable request",
    429: "rate limited",
}


def http_reason(status: int) -> str:
    """`HTTP 401 (authentication)`: the status and its meaning, without the server's text."""
    meaning = HTTP_REASONS.get(status, "server error" if status >= 500 else "client error")
    return f"HTTP {status} ({meaning})"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # `warm`, from the preload thread
        return None


def _httpx_failure(exc: Exception) -> str | None:
    """Classify the transport errors under an SDK error, without importing the HTTP libraries:
    the httpx(2) ones an SDK's stream reader lets through unwrapped (Anthropic's does,
    mid-stream), and the aiohttp ones the SDKs' aiohttp transport maps too coarsely (a refused
    or dropped connection arrives as a `ConnectTimeout`)."""
    cause: BaseException | None = exc
    for _ in range(8):  # the chain is SDK error <- httpx error <- aiohttp error <- OSError
        if cause is None:
            break
        names = {cls.__name__ for cls in type(cause).__mro__}
        if isinstance(cause, ConnectionError) or names & AIOHTTP_CONNECTION_ERRORS:
            return "connection"
        cause = cause.__cause__
    names = {cls.__name__ for cls in type(exc).__mro__ if cls.__module__.startswith("httpx")}
    if "TimeoutException" in names:
        return "timeout"
    return "connection" if "TransportError" in names else None


AIOHTTP_CONNECTION_ERRORS = {"ClientConnectorError", "ServerDisconnectedError"}
"""aiohttp's errors for a connection refused or dropped by the server (not a timeout)."""


def _error_detail(exc: Any) -> str:
    """The server's own message: OpenAI's body is the `error` object, Anthropic's wraps it."""
    body = exc.body
    inner = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return _shorten(inner["message"])
    return _shorten(str(inner or exc.message))


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
