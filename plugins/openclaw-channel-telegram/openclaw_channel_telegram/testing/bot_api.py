"""A scripted fake Telegram Bot API server that speaks the real wire format.

A real aiohttp server on 127.0.0.1 (a free port) in its own thread, so the real aiogram client
talks to it over a socket (`TelegramAPIServer.from_base(api.base_url)`). Users are scripted with
`user_sends*`; what the bot did is read back with `messages(chat_id)` (final texts as the user
sees them, after MarkdownV2 parsing and edits), `actions`, and `calls`::

    with FakeBotAPI() as api:
        api.user_sends(42, 42, "hello")
        api.fail("sendMessage", 429, retry_after=1)  # the next sendMessage is rate-limited
        ...  # run a bot with token api.token against api.base_url
        assert api.messages(42)[-1].text == "echo: hello"

Requests are multipart forms (as aiogram sends them) or JSON; answers are `{"ok": true,
"result": ...}`, errors `{"ok": false, "error_code", "description", "parameters"}`.
MarkdownV2 is parsed like Telegram does: an unescaped reserved character or an unclosed entity
is a 400 "can't parse entities".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from openclaw.testing.background import BackgroundServer
from openclaw.testing.secret_scan import current_scan

MAX_MESSAGE_LEN = 4096
MAX_CAPTION_LEN = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_RESERVED = set("_*[]()~`>#+-=|{}.!")


class MarkdownV2Error(ValueError):
    """The text is not valid MarkdownV2; the message is Telegram's description."""


def parse_markdown_v2(text: str) -> str:
    """The plain text a user sees for MarkdownV2 `text`, or MarkdownV2Error as Telegram
    reports it (reserved characters must be escaped, entities must be closed and nested)."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []  # open markers and where they started
    i = 0

    def fail(why: str) -> MarkdownV2Error:
        return MarkdownV2Error(f"Bad Request: can't parse entities: {why}")

    def toggle(marker: str) -> None:
        if stack and stack[-1][0] == marker:
            stack.pop()
        elif any(open_marker == marker for open_marker, _ in stack):
            raise fail(f"Can't find end of the entity starting at byte offset {i}")
        else:
            stack.append((marker, i))

    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                raise fail("Can't find end of the entity starting at byte offset 0")
            out.append(text[i + 1])
            i += 2
        elif text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise fail(f"Can't find end of Pre entity at byte offset {i}")
            body = text[i + 3 : end]
            language, newline, code = body.partition("\n")
            if newline and " " not in language:
                body = code  # the first line names the language
            out.append(_unescape_code(body))
            i = end + 3
        elif char == "`":
            end = i + 1
            while end < len(text) and text[end] != "`":
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise fail(f"Can't find end of Code entity at byte offset {i}")
            out.append(_unescape_code(text[i + 1 : end]))
            i = end + 1
        elif text.startswith("__", i) or text.startswith("||", i):
            toggle(text[i : i + 2])
            i += 2
        elif char in "*_~":
            toggle(char)
            i += 1
        elif char == "[":
            toggle("[")
            i += 1
        elif char == "]":
            if not stack or stack[-1][0] != "[":
                raise fail("Character ']' is reserved and must be escaped with the preceding '\\'")
            stack.pop()
            if not text.startswith("(", i + 1):
                raise fail("Character ']' is reserved and must be escaped with the preceding '\\'")
            end = i + 2
            while end < len(text) and text[end] != ")":
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise fail(f"Can't find end of a URL at byte offset {i}")
            i = end + 1
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a blockquote line
        elif char in _RESERVED:
            raise fail(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
            i += 1
    if stack:
        start = stack[-1][1]
        raise fail(f"Can't find end of the entity starting at byte offset {start}")
    return "".join(out)


def _unescape_code(body: str) -> str:
    return body.replace("\\\\", "\x00").replace("\\`", "`").replace("\x00", "\\")


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as the user sees it now (`text` is the latest edit, rendered)."""

    chat_id: int
    message_id: int
    kind: str  # "text", "document", "voice"
    text: str = ""
    raw_text: str = ""
    parse_mode: str | None = None
    reply_to: int | None = None
    edits: list[str] = field(default_factory=list)
    """Rendered texts of every edit, in order."""
    filename: str = ""
    data: bytes = b""
    caption: str = ""


@dataclass(slots=True)
class Call:
    """One request the bot made: method, form fields (JSON values decoded), uploaded files."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    status: int = 200


@dataclass(slots=True)
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    disconnect: bool


class FakeBotAPI(BackgroundServer):
    """A fake Bot API for one bot (`token`): updates, messages, files and scripted failures."""

    def __init__(
        self,
        token: str = "123456:TEST-fake-token-for-openclaw",
        *,
        bot_username: str = "openclaw_test_bot",
        max_poll_wait: float = 1.0,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.max_poll_wait = max_poll_wait
        """getUpdates waits at most this long (or its `timeout`, if shorter) so tests stay quick."""
        self.calls: list[Call] = []
        """Every Bot API request, in order, failed ones included."""
        self.files: dict[str, tuple[str, bytes]] = {}
        """file_id -> (file_path, data) for everything users sent."""
        self.webhook: dict[str, Any] = {}
        self.reject_markup = False
        """While True, every request with a `parse_mode` fails as if its markup were invalid."""
        self._updates: list[dict[str, Any]] = []
        self._delivered: list[dict[str, Any]] = []  # every update getUpdates returned
        self._confirmed = 0
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._message_ids: dict[int, Iterator[int]] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._actions: dict[int, list[str]] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._new_update: asyncio.Condition | None = None
        self._closing = False
        if (scan := current_scan()) is not None:
            scan.add_secrets([token])
            scan.watch(self._outgoing)

    @property
    def base_url(self) -> str:
        """Give this to `TelegramAPIServer.from_base` (the `api_base` setting)."""
        return self.url

    def channel_settings(
        self, allowed_user_ids: Sequence[int] = (42, 43), **settings: Any
    ) -> dict[str, Any]:
        """`channels.telegram` pointed at this fake, quick to poll and retry; `settings` are
        merged over it."""
        return {
            "enabled": True,
            "token": self.token,
            "api_base": self.base_url,
            "allowed_user_ids": list(allowed_user_ids),
            "poll_timeout": 1,
            "retry_delay": 0.01,
            **settings,
        }

    # -- scripting users -------------------------------------------------------------------

    def user_sends(
        self, user_id: int, chat_id: int | None = None, text: str = "", **extra: Any
    ) -> int:
        """Queue a text message from a user (chat defaults to the private chat); returns the
        update_id. `extra` fields are merged into the message object."""
        return self._push_message(user_id, chat_id, {"text": text, **extra})

    def user_sends_photo(
        self,
        user_id: int,
        chat_id: int | None = None,
        data: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        caption: str | None = None,
        thumbnail: bytes = b"\xff\xd8\xff\xe0thumb",
    ) -> int:
        """Queue a photo: Telegram offers a small thumbnail and the full size (last, largest)."""
        sizes = [
            self._photo_size(thumbnail, 90, 90),
            self._photo_size(data, 1280, 960),
        ]
        message: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            message["caption"] = caption
        return self._push_message(user_id, chat_id, message)

    def user_sends_voice(
        self,
        user_id: int,
        chat_id: int | None = None,
        data: bytes = b"OggS fake voice",
        duration: int = 1,
        mime_type: str = "audio/ogg",
    ) -> int:
        """Queue a voice note (OGG/Opus as Telegram clients record them)."""
        file_id, unique = self._store_file(data, "voice", "oga")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique,
            "duration": duration,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        return self._push_message(user_id, chat_id, {"voice": voice})

    def user_sends_document(
        self,
        user_id: int,
        chat_id: int | None = None,
        data: bytes = b"",
        filename: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int:
        """Queue a file sent as a document (uncompressed images arrive this way too)."""
        file_id, unique = self._store_file(data, "documents", filename.rsplit(".", 1)[-1])
        document = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        message: dict[str, Any] = {"document": document}
        if caption is not None:
            message["caption"] = caption
        return self._push_message(user_id, chat_id, message)

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update as it is, malformed or not (one without `chat` or `date`, say);
        an `update_id` is added when it has none. Returns the update_id."""
        with self._lock:
            update_id = int(update.get("update_id") or next(self._update_ids))
            self._updates.append({**update, "update_id": update_id})
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop).result(timeout=10)
        return update_id

    def resend(self, update_id: int) -> int:
        """Deliver an update's message again under a new update_id, as Telegram does when a
        bot did not confirm it in time; returns the new update_id."""
        with self._lock:
            original = next(u for u in self._delivered if u["update_id"] == update_id)
            update = {**original, "update_id": next(self._update_ids)}
        return self.push_update(update)

    def fail(
        self,
        method: str,
        status: int = 500,
        *,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with an HTTP error in the Bot API's
        format, e.g. `fail("sendMessage", 429, retry_after=1)`, `fail("editMessageText", 400,
        description="Bad Request: can't parse entities: ...")`, `fail("getUpdates", 502)`;
        `fail("file", 500)` fails the next file download (`/file/bot<token>/<path>`)."""
        if not description:
            description = {
                400: "Bad Request: can't parse entities: Can't find end of the entity",
                401: "Unauthorized",
                429: f"Too Many Requests: retry after {retry_after}",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error")
        with self._lock:
            for _ in range(times):
                self._faults.append(_Fault(method, status, description, retry_after, False))

    def clear_faults(self) -> None:
        """Forget the failures scripted with `fail` and `disconnect` that have not happened."""
        with self._lock:
            self._faults.clear()

    def disconnect(self, method: str, *, times: int = 1) -> None:
        """Drop the connection of the next `times` calls of `method` without an answer."""
        with self._lock:
            for _ in range(times):
                self._faults.append(_Fault(method, 0, "", None, True))

    # -- reading what happened -------------------------------------------------------------

    def messages(self, chat_id: int | str) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, each as it reads now."""
        with self._lock:
            return list(self._sent.get(int(chat_id), []))

    def texts(self, chat_id: int | str) -> list[str]:
        """The current texts (or captions) of the bot's messages in a chat."""
        return [m.text or m.caption for m in self.messages(chat_id)]

    def actions(self, chat_id: int | str) -> list[str]:
        """Chat actions (`typing`, ...) the bot sent to a chat."""
        with self._lock:
            return list(self._actions.get(int(chat_id), []))

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def _outgoing(self) -> list[tuple[str, str]]:
        """Everything the bot sent, for the secret scan: each call's fields and files."""
        with self._lock:
            calls = list(self.calls)
        return [
            (
                f"{call.method} sent to the Bot API",
                json.dumps(call.params, default=str)
                + "".join(data.decode("utf-8", "replace") for _, data in call.files.values()),
            )
            for call in calls
        ]

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot's getUpdates offset."""
        with self._lock:
            return len(self._updates)

    # -- lifecycle -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        self._new_update = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def on_close(self) -> None:
        """Release waiting getUpdates calls."""
        assert self._new_update is not None
        self._closing = True
        async with self._new_update:
            self._new_update.notify_all()

    # -- building updates ------------------------------------------------------------------

    def _push_message(self, user_id: int, chat_id: int | None, content: dict[str, Any]) -> int:
        chat = user_id if chat_id is None else chat_id
        with self._lock:
            update_id = next(self._update_ids)
            message = {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": _chat(chat, user_id),
                "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
                **content,
            }
            self._updates.append({"update_id": update_id, "message": message})
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop).result(timeout=10)
        return update_id

    async def _notify(self) -> None:
        assert self._new_update is not None
        async with self._new_update:
            self._new_update.notify_all()

    def _store_file(self, data: bytes, folder: str, extension: str) -> tuple[str, str]:
        with self._lock:
            number = next(self._file_ids)
        file_id = f"file-{number}"
        self.files[file_id] = (f"{folder}/file_{number}.{extension}", data)
        return file_id, f"unique-{number}"

    def _photo_size(self, data: bytes, width: int, height: int) -> dict[str, Any]:
        file_id, unique = self._store_file(data, "photos", "jpg")
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "width": width,
            "height": height,
            "file_size": len(data),
        }

    # -- serving ---------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method, params, files)
        with self._lock:
            self.calls.append(call)
        if request.match_info["token"] != self.token:
            call.status = 401
            return _error(401, "Unauthorized")
        fault = self._take_fault(method)
        if fault is not None:
            if fault.disconnect:
                call.status = 0
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            call.status = fault.status
            return _error(fault.status, fault.description, fault.retry_after)
        if self.reject_markup and params.get("parse_mode"):
            call.status = 400
            return _error(400, "Bad Request: can't parse entities: rejected by the test")
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            call.status = 404
            return _error(404, "Not Found")
        try:
            result = await handler(params, files)
        except _APIError as exc:
            call.status = exc.status
            return _error(exc.status, exc.description)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        fault = self._take_fault("file")
        if fault is not None:
            return web.Response(status=fault.status, text=fault.description)
        path = request.match_info["path"]
        for file_path, data in list(self.files.values()):
            if file_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.method.lower() == method.lower():
                    return self._faults.pop(index)
        return None

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "OpenClaw Test",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message_json(self, sent: SentMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": _chat(sent.chat_id, sent.chat_id),
            "from": self._bot_user(),
        }
        if sent.kind == "text":
            message["text"] = sent.text
        if sent.caption:
            message["caption"] = sent.caption
        if sent.kind in ("document", "voice"):
            file_id, unique = self._store_file(sent.data, sent.kind, "bin")
            if sent.kind == "document":
                message["document"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "file_name": sent.filename,
                }
            else:
                message["voice"] = {"file_id": file_id, "file_unique_id": unique, "duration": 1}
        return message

    def _new_message(self, chat_id: int, kind: str, **fields: Any) -> SentMessage:
        with self._lock:
            ids = self._message_ids.setdefault(chat_id, itertools.count(1000))
            sent = SentMessage(chat_id, next(ids), kind, **fields)
            self._sent.setdefault(chat_id, []).append(sent)
        return sent

    def _find(self, chat_id: int, message_id: int) -> SentMessage:
        with self._lock:
            for sent in self._sent.get(chat_id, []):
                if sent.message_id == message_id:
                    return sent
        raise _APIError(400, "Bad Request: message to edit not found")

    # Bot API methods: `_api_<lowercased method>(params, files)` returns the result.

    async def _api_getme(self, params: dict[str, Any], files: Any) -> Any:
        return self._bot_user()

    async def _api_getupdates(self, params: dict[str, Any], files: Any) -> Any:
        offset = int(params.get("offset", 0))
        limit = int(params.get("limit", 100))
        wait = min(float(params.get("timeout", 0)), self.max_poll_wait)
        assert self._new_update is not None
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
                self._delivered.extend(u for u in ready if u not in self._delivered)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready
            async with self._new_update:
                try:
                    await asyncio.wait_for(self._new_update.wait(), remaining)
                except TimeoutError:
                    return []

    async def _api_deletewebhook(self, params: dict[str, Any], files: Any) -> Any:
        self.webhook = {}
        return True

    async def _api_setwebhook(self, params: dict[str, Any], files: Any) -> Any:
        self.webhook = dict(params)
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any], files: Any) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates(),
        }

    async def _api_sendmessage(self, params: dict[str, Any], files: Any) -> Any:
        chat_id = int(params["chat_id"])
        raw = str(params.get("text", ""))
        text = _render(raw, params.get("parse_mode"), MAX_MESSAGE_LEN, "message")
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        sent = self._new_message(
            chat_id,
            "text",
            text=text,
            raw_text=raw,
            parse_mode=params.get("parse_mode"),
            reply_to=int(reply_to) if reply_to else None,
        )
        return self._message_json(sent)

    async def _api_editmessagetext(self, params: dict[str, Any], files: Any) -> Any:
        sent = self._find(int(params["chat_id"]), int(params["message_id"]))
        raw = str(params.get("text", ""))
        text = _render(raw, params.get("parse_mode"), MAX_MESSAGE_LEN, "message")
        with self._lock:
            if text == sent.text:
                raise _APIError(400, NOT_MODIFIED)
            sent.text, sent.raw_text, sent.parse_mode = text, raw, params.get("parse_mode")
            sent.edits.append(text)
        return self._message_json(sent)

    async def _api_sendchataction(self, params: dict[str, Any], files: Any) -> Any:
        with self._lock:
            self._actions.setdefault(int(params["chat_id"]), []).append(str(params["action"]))
        return True

    async def _api_senddocument(self, params: dict[str, Any], files: Any) -> Any:
        return self._send_file(params, files, "document")

    async def _api_sendvoice(self, params: dict[str, Any], files: Any) -> Any:
        return self._send_file(params, files, "voice")

    def _send_file(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]], field_name: str
    ) -> Any:
        value = params.get(field_name)
        key = (
            value[len("attach://") :]
            if isinstance(value, str) and value.startswith("attach://")
            else field_name
        )
        if key not in files:
            raise _APIError(400, f"Bad Request: there is no {field_name} in the request")
        filename, data = files[key]
        raw = str(params.get("caption", ""))
        caption = _render(raw, params.get("parse_mode"), MAX_CAPTION_LEN, "message caption")
        sent = self._new_message(
            int(params["chat_id"]), field_name, filename=filename, data=data, caption=caption
        )
        return self._message_json(sent)

    async def _api_getfile(self, params: dict[str, Any], files: Any) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise _APIError(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"unique-{file_id}",
            "file_size": len(data),
            "file_path": path,
        }


class _APIError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _render(raw: str, parse_mode: Any, limit: int, what: str) -> str:
    """What the user sees, checked like Telegram checks it (markup, then length)."""
    if parse_mode == "MarkdownV2":
        try:
            text = parse_markdown_v2(raw)
        except MarkdownV2Error as exc:
            raise _APIError(400, str(exc)) from None
    elif parse_mode in (None, ""):
        text = raw
    else:
        raise _APIError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in this fake")
    if what == "message" and not text.strip():
        raise _APIError(400, "Bad Request: message text is empty")
    if len(text) > limit:
        raise _APIError(400, f"Bad Request: {what} is too long")
    return text


def _chat(chat_id: int, user_id: int) -> dict[str, Any]:
    if chat_id == user_id:
        return {"id": chat_id, "type": "private", "first_name": f"User{user_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Form fields (nested values arrive as JSON strings) and uploaded files, or a JSON body."""
    if request.content_type == "application/json":
        return dict(await request.json()), {}
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[key] = (value.filename, value.file.read())
        elif isinstance(value, str):
            params[key] = _decode(value)
    return params, files


def _decode(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
