"""Scripted fake model servers that speak the real OpenAI and Anthropic wire formats.

Each fake is a real aiohttp server on 127.0.0.1 (a free port) running in its own thread and
event loop, so synchronous code, async tests and subprocesses (the CLI) all reach it through
the real SDKs. Script answers with `enqueue`; read what the model was sent in `requests`::

    with FakeOpenAIServer() as server:
        server.enqueue("Hello!", Reply(tool_calls=[("add", '{"a": 1}')]), Reply.error(429))
        ...  # point a client at server.base_url
        assert server.requests[0]["messages"][-1]["content"] == "hi"

When the queue is empty the server answers with `default(body)`, by default an echo of the
last user text. Nothing sleeps unless `delay` (seconds between stream records) is set. Like the
real services, a request whose tool calls and tool results do not pair up is refused with a 400
(`invalid_sequence`), so a test sees the error a broken session would get in production.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from aiohttp import web

from openclaw.testing.background import BackgroundServer

DEFAULT_USAGE = (10, 5)
"""(input, output) tokens a reply reports unless told otherwise."""

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: build answers with the constructor, failures with the class methods.

    `text` is streamed in `chunks` deltas; `tool_calls` are (name, arguments JSON) pairs, several
    of them making parallel calls; `usage` is (input, output) tokens, or None to send none (as
    llama.cpp does).
    """

    text: str = ""
    chunks: int = 1
    tool_calls: Sequence[tuple[str, str]] = ()
    usage: tuple[int, int] | None = DEFAULT_USAGE
    kind: Literal["answer", "error", "malformed", "hang", "cut"] = "answer"
    status: int = 200
    message: str = ""
    retry_after: float | None = None

    @classmethod
    def error(cls, status: int, message: str = "", *, retry_after: float | None = 0.001) -> Reply:
        """An HTTP error with the service's JSON error body. `retry_after` (seconds) is sent as
        `retry-after-ms` so that SDK retries are instant; None leaves the header out.
        `{api_key}` in `message` is replaced by the key the request carried, like a server
        that echoes it (`Reply.error(401, "Incorrect API key provided: {api_key}")`)."""
        message = message or f"fake error {status}"
        return cls(kind="error", status=status, message=message, retry_after=retry_after)

    @classmethod
    def malformed(cls, text: str = "") -> Reply:
        """A stream that sends `text`, then a record whose data is not JSON."""
        return cls(text=text, kind="malformed")

    @classmethod
    def cut(cls, text: str) -> Reply:
        """A stream that sends `text`, then drops the connection mid-answer."""
        return cls(text=text, kind="cut")

    @classmethod
    def hang(cls) -> Reply:
        """No answer at all until the server closes: for timeout tests."""
        return cls(kind="hang")


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the newest user message that has text (both APIs use `{"type": "text"}`)."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts = [part.get("text", "") for part in content or [] if part.get("type") == "text"]
        if texts:
            return "".join(texts)
    return ""


def echo_reply(body: dict[str, Any]) -> Reply:
    """The default answer when nothing is queued: ``echo: <last user text>``."""
    return Reply(f"echo: {last_user_text(body)}")


def split_text(text: str, parts: int) -> list[str]:
    """`text` cut into at most `parts` non-empty pieces of nearly equal length."""
    size = max(1, -(-len(text) // max(parts, 1)))
    return [text[start : start + size] for start in range(0, len(text), size)]


def _sse(data: Any, event: str | None = None) -> str:
    record = f"event: {event}\n" if event else ""
    return record + f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def openai_sequence_problem(messages: list[dict[str, Any]]) -> str:
    """Why OpenAI would refuse these chat messages with a 400, or "": every tool call must be
    answered by the tool messages right after it, and a tool message must answer a call of the
    assistant message before them."""
    waiting: set[str] = set()
    for message in messages:
        if message.get("role") == "tool":
            if message.get("tool_call_id") not in waiting:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'."
                )
            waiting.discard(message["tool_call_id"])
            continue
        if waiting:
            break
        waiting = {call["id"] for call in message.get("tool_calls") or []}
    if waiting:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(sorted(waiting))}"
        )
    return ""


PLANTED_API_KEY = "sk-openclaw-planted-5e1f0c9b7a2d4e6f8a1b3c5d"
"""A recognisable API key for test configs: the `openclaw_no_secret_in_outputs` scan fails a test
whose gateway shows it in a log, `/status`, `/metrics` or a message sent to a chat."""


class FakeServer(BackgroundServer, ABC):
    """A scripted HTTP server in a background thread; a subclass speaks one service's protocol."""

    api_prefix: ClassVar[str] = ""
    chat_path: ClassVar[str]

    def __init__(
        self,
        *,
        default: Callable[[dict[str, Any]], Reply] = echo_reply,
        delay: float = 0.0,
        models: Sequence[str] = ("fake-model",),
    ) -> None:
        super().__init__()
        self.default = default
        self.delay = delay
        self.models = list(models)
        self.requests: list[dict[str, Any]] = []
        """Every JSON body received on the chat endpoint, in order."""
        self.api_keys: list[str | None] = []
        """The key each chat request carried (`Authorization: Bearer` or `x-api-key`)."""
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        """The URL to give the SDK as `base_url`."""
        return self.url + self.api_prefix

    def enqueue(self, *replies: Reply | str) -> None:
        """Queue answers for the next chat requests, in order; a str is a plain text answer."""
        with self._lock:
            self._queue.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def build_app(self) -> web.Application:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post(self.chat_path, self._handle_chat)
        app.router.add_get("/v1/models", self._models)
        return app

    async def on_close(self) -> None:
        assert self._closing is not None
        self._closing.set()

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.default(body)

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        key = request.headers.get("x-api-key") or bearer or None
        self.api_keys.append(key)
        problem = self.invalid_sequence(body.get("messages", []))
        if problem:
            return web.json_response(self.error_body(Reply.error(400, problem)), status=400)
        reply = self._next_reply(body)
        if reply.kind == "hang":
            assert self._closing is not None
            await self._closing.wait()
            return web.Response(status=503)
        if reply.kind == "error":
            reply = replace(reply, message=reply.message.replace("{api_key}", key or ""))
            headers = {}
            if reply.retry_after is not None:
                headers["retry-after-ms"] = str(reply.retry_after * 1000)
            return web.json_response(self.error_body(reply), status=reply.status, headers=headers)
        if not body.get("stream"):
            if reply.kind == "malformed":
                return web.Response(text="{not json", content_type="application/json")
            return web.json_response(self.completion(body, reply))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for record in self.records(body, reply):
            await response.write(record.encode())
            if self.delay:
                await asyncio.sleep(self.delay)
        if reply.kind == "cut" and request.transport is not None:
            request.transport.close()  # no end of the chunked body: the client sees a drop
            return response
        await response.write_eof()
        return response

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(self.models_body())

    @abstractmethod
    def invalid_sequence(self, messages: list[dict[str, Any]]) -> str:
        """Why the service would refuse this conversation (the error message), or ""."""

    @abstractmethod
    def error_body(self, reply: Reply) -> dict[str, Any]:
        """The JSON body of an HTTP error in the service's format."""

    @abstractmethod
    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """A non-streamed answer."""

    @abstractmethod
    def records(self, body: dict[str, Any], reply: Reply) -> Iterator[str]:
        """The SSE records of a streamed answer."""

    @abstractmethod
    def models_body(self) -> dict[str, Any]:
        """The answer to `GET /v1/models`."""


class FakeOpenAIServer(FakeServer):
    """`POST /v1/chat/completions` (streamed or not) and `GET /v1/models`, as OpenAI serves them."""

    api_prefix = "/v1"
    chat_path = "/v1/chat/completions"

    def invalid_sequence(self, messages: list[dict[str, Any]]) -> str:
        return openai_sequence_problem(messages)

    def error_body(self, reply: Reply) -> dict[str, Any]:
        error_type = _ERROR_TYPES.get(reply.status, "server_error")
        return {
            "error": {"message": reply.message, "type": error_type, "param": None, "code": None}
        }

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_fake_{i}",
                    "type": "function",
                    "function": {"name": n, "arguments": a},
                }
                for i, (n, a) in enumerate(reply.tool_calls)
            ]
        answer = {
            **self._header(body, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
        }
        if reply.usage is not None:
            answer["usage"] = _openai_usage(reply.usage)
        return answer

    def records(self, body: dict[str, Any], reply: Reply) -> Iterator[str]:
        header = self._header(body, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return _sse({**header, "choices": [choice]})

        yield chunk({"role": "assistant", "content": ""})
        for piece in split_text(reply.text, reply.chunks):
            yield chunk({"content": piece})
        if reply.kind == "malformed":
            yield _sse("{this is not json")
        if reply.kind in ("malformed", "cut"):
            return
        for index, (name, _) in enumerate(reply.tool_calls):
            function = {"name": name, "arguments": ""}
            call = {"index": index, "id": f"call_fake_{index}", "type": "function"}
            yield chunk({"tool_calls": [{**call, "function": function}]})
        # Argument fragments of parallel calls interleave, so clients must assemble by index.
        fragments = [split_text(arguments, 2) for _, arguments in reply.tool_calls]
        for step in range(2):
            for index, pieces in enumerate(fragments):
                if step < len(pieces):
                    call = {"index": index, "function": {"arguments": pieces[step]}}
                    yield chunk({"tool_calls": [call]})
        yield chunk({}, _finish(reply))
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if wants_usage and reply.usage is not None:
            yield _sse({**header, "choices": [], "usage": _openai_usage(reply.usage)})
        yield _sse("[DONE]")

    def models_body(self) -> dict[str, Any]:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return {"object": "list", "data": data}

    def _header(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": kind,
            "created": int(time.time()),
            "model": body.get("model", ""),
        }


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _openai_usage(usage: tuple[int, int]) -> dict[str, int]:
    return {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}


class FakeAnthropicServer(FakeServer):
    """`POST /v1/messages` (streamed or not) and `GET /v1/models`, as Anthropic serves them."""

    chat_path = "/v1/messages"

    def invalid_sequence(self, messages: list[dict[str, Any]]) -> str:
        """Anthropic's rules: the `tool_use` blocks of an assistant message are answered by
        `tool_result` blocks in the next user message, and only those."""
        uses: set[str] = set()
        for message in messages:
            content = message.get("content")
            blocks = content if isinstance(content, list) else []
            results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if uses - results:
                return (
                    "messages: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(sorted(uses - results))}"
                )
            if results - uses:
                return (
                    "messages: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{', '.join(sorted(str(r) for r in results - uses))}. Each `tool_result` "
                    "block must have a corresponding `tool_use` block in the previous message."
                )
            uses = {b["id"] for b in blocks if b.get("type") == "tool_use"}
        return ""

    def error_body(self, reply: Reply) -> dict[str, Any]:
        error_type = _ERROR_TYPES.get(reply.status, "api_error")
        return {"type": "error", "error": {"type": error_type, "message": reply.message}}

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        for index, (name, arguments) in enumerate(reply.tool_calls):
            block = {"type": "tool_use", "id": f"toolu_fake_{index}", "name": name}
            content.append({**block, "input": json.loads(arguments or "{}")})
        message = self._message(body, reply, content)
        message["stop_reason"] = _stop_reason(reply)
        if reply.usage is not None:
            message["usage"] = {"input_tokens": reply.usage[0], "output_tokens": reply.usage[1]}
        return message

    def records(self, body: dict[str, Any], reply: Reply) -> Iterator[str]:
        start = self._message(body, reply, [])
        if reply.usage is not None:
            start["usage"] = {"input_tokens": reply.usage[0], "output_tokens": 1}
        yield _sse({"type": "message_start", "message": start}, "message_start")
        index = 0
        if reply.text or not reply.tool_calls:
            block = {"type": "text", "text": ""}
            yield _block_start(index, block)
            for piece in split_text(reply.text, reply.chunks):
                yield _block_delta(index, {"type": "text_delta", "text": piece})
            if reply.kind == "malformed":
                yield _sse("{this is not json", "content_block_delta")
            if reply.kind in ("malformed", "cut"):
                return
            yield _block_stop(index)
            index += 1
        for name, arguments in reply.tool_calls:
            tool_use = {"type": "tool_use", "id": f"toolu_fake_{index}", "name": name, "input": {}}
            yield _block_start(index, tool_use)
            for piece in split_text(arguments, 2):
                yield _block_delta(index, {"type": "input_json_delta", "partial_json": piece})
            yield _block_stop(index)
            index += 1
        delta: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
        }
        if reply.usage is not None:
            delta["usage"] = {"output_tokens": reply.usage[1]}
        yield _sse(delta, "message_delta")
        yield _sse({"type": "message_stop"}, "message_stop")

    def models_body(self) -> dict[str, Any]:
        created = "2025-01-01T00:00:00Z"
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": created}
            for m in self.models
        ]
        first, last = (self.models[0], self.models[-1]) if self.models else (None, None)
        return {"data": data, "has_more": False, "first_id": first, "last_id": last}

    def _message(
        self, body: dict[str, Any], reply: Reply, content: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "id": f"msg_fake_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
        }


def _stop_reason(reply: Reply) -> str:
    return "tool_use" if reply.tool_calls else "end_turn"


def _block_start(index: int, block: dict[str, Any]) -> str:
    event = {"type": "content_block_start", "index": index, "content_block": block}
    return _sse(event, "content_block_start")


def _block_delta(index: int, delta: dict[str, Any]) -> str:
    event = {"type": "content_block_delta", "index": index, "delta": delta}
    return _sse(event, "content_block_delta")


def _block_stop(index: int) -> str:
    return _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
