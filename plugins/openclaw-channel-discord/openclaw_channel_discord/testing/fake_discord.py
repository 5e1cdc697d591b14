"""A scripted fake Discord (REST API, CDN and gateway websocket) that speaks the real wire format.

A real aiohttp server on 127.0.0.1 (a free port) in its own thread, so the real disnake client
talks to it over sockets: point it there with `disnake.http.Route.BASE = api.api_base` (the
`api_base` setting of the Discord channel). Users are scripted with `user_sends` and
`user_runs_command` (slash-command interactions); the gateway is driven with `reconnect` (op 7),
`invalidate_session` (op 9) and `drop`; what the bot did is read back with
`messages(channel_id)`, `typing`, `identifies`, `resumes`, `application_commands`,
`interaction_callbacks` and `requests`::

    with FakeDiscord() as api:
        api.user_sends(42, api.dm_channel(42), "hello")
        ...  # run a bot with token api.token against api.api_base
        assert api.messages(api.dm_channel(42))[-1].content == "echo: hello"

The gateway behaves like Discord's: HELLO, heartbeat ACKs, READY (with `session_id` and
`resume_gateway_url`) then GUILD_CREATE after IDENTIFY, RESUMED after RESUME with the events the
bot missed replayed, op 9 for an unknown session, zlib-stream transport compression when asked
for, and message content left empty for a bot that did not ask for the message-content intent
(unless it is mentioned or in a DM). REST answers are JSON with the exact content type
`application/json` (disnake parses nothing else); errors use Discord's `{"code", "message"}`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from openclaw.testing.background import BackgroundServer
from openclaw.testing.secret_scan import current_scan

MAX_CONTENT = 2000
MESSAGE_CONTENT_INTENT = 1 << 15
_ZLIB_SUFFIX = b"\x00\x00\xff\xff"


@dataclass(slots=True)
class SentMessage:
    """A message the bot posted, as it reads now (`content` is the latest edit)."""

    id: int
    channel_id: int
    content: str = ""
    reply_to: int | None = None
    edits: list[str] = field(default_factory=list)
    """The content of every edit, in order."""
    files: list[tuple[str, bytes]] = field(default_factory=list)
    """Uploaded attachments: (filename, data)."""
    interaction_id: int | None = None
    """Set on the message that answers a slash-command interaction."""


@dataclass(slots=True)
class Request:
    """One REST request the bot made: method, path below `/api/v10`, JSON body, status."""

    method: str
    path: str
    body: Any = None
    status: int = 200


@dataclass(slots=True)
class _Session:
    """A gateway session: its sequence numbers and every dispatch, for replay on RESUME."""

    id: str
    intents: int
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    compressor: Any = None  # zlib compressobj for `compress=zlib-stream`
    session: _Session | None = None


@dataclass(slots=True)
class _Fault:
    method: str
    path: str  # a substring of the path below /api/v10
    status: int
    retry_after: float | None


class DiscordAPIError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeDiscord(BackgroundServer):
    """A fake Discord for one bot (`token`, user id `bot_id`) with one server (`guild_id`)
    holding one text channel (`guild_channel_id`); DM channels are made per user."""

    def __init__(
        self,
        token: str = "ODk5.fake-discord.token-for-openclaw",
        *,
        bot_id: int = 899,
        bot_name: str = "openclaw-test",
        guild_id: int = 5000,
        guild_channel_id: int = 5001,
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.guild_id = guild_id
        self.guild_channel_id = guild_channel_id
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.requests: list[Request] = []
        """Every REST request, in order, failed ones included."""
        self.identifies: list[dict[str, Any]] = []
        """The `d` of every IDENTIFY (op 2) received."""
        self.resumes: list[dict[str, Any]] = []
        """The `d` of every RESUME (op 6) received."""
        self.connections = 0
        """How many gateway websockets were opened."""
        self.typing: dict[int, int] = {}
        """Typing indicators triggered, per channel."""
        self.downloads: list[str] = []
        """The names of the attachments the client downloaded, in order."""
        self.application_commands: list[dict[str, Any]] = []
        """The slash commands the bot registered (`PUT /applications/{id}/commands`)."""
        self.interaction_callbacks: list[dict[str, Any]] = []
        """The body of every interaction response (`type` 4 message, 5 deferred, ...)."""
        self._interactions: dict[str, dict[str, Any]] = {}  # token -> the interaction
        self.refuse_gateway = 0
        """While above zero, each websocket upgrade is refused with 503 (and it counts down)."""
        self.message_content_allowed = True
        """False: the bot was not granted the privileged message-content intent, so an
        IDENTIFY asking for it is closed with 4014, as Discord does."""
        self._ids = itertools.count(10_000)
        self._sent: dict[int, list[SentMessage]] = {}
        self._files: dict[str, bytes] = {}
        self._faults: list[_Fault] = []
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None  # the newest session, connected or not
        self._connection: _Connection | None = None
        self._lock = threading.RLock()
        if (scan := current_scan()) is not None:
            scan.add_secrets([token])
            scan.watch(self._outgoing)

    def _outgoing(self) -> list[tuple[str, str]]:
        """What the bot sent over REST, for the secret scan."""
        with self._lock:
            sent = [(f"{r.method} {r.path}", r.body) for r in self.requests]
        return [(f"{where} sent to Discord", json.dumps(body, default=str)) for where, body in sent]

    @property
    def api_base(self) -> str:
        """Give this to `Route.BASE` (the channel's `api_base` setting)."""
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def dm_channel(self, user_id: int) -> int:
        """The id of the DM channel between a user and the bot."""
        return 7_000_000 + user_id

    # -- scripting users -------------------------------------------------------------------

    def user_sends(
        self,
        user_id: int,
        channel_id: int | None = None,
        content: str = "",
        *,
        attachments: Sequence[tuple[str, bytes, str | None]] = (),
        mention_bot: bool = False,
        reply_to: int | None = None,
    ) -> int:
        """Dispatch MESSAGE_CREATE for a message from a user, in their DM channel unless
        `channel_id` is the server's channel. `attachments` are (filename, data, content type);
        `mention_bot` puts `<@bot_id>` in front of the content; `reply_to` makes it a reply to
        one of the bot's messages. Returns the message id."""
        channel = self.dm_channel(user_id) if channel_id is None else channel_id
        in_guild = channel == self.guild_channel_id
        if mention_bot:
            content = f"<@{self.bot_id}> {content}"
        with self._lock:
            message_id = next(self._ids)
            files = [
                self._attachment(channel, name, data, kind) for name, data, kind in attachments
            ]
        mentioned = f"<@{self.bot_id}>" in content or f"<@!{self.bot_id}>" in content
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel),
            "author": _user(user_id, f"user{user_id}"),
            "content": content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [_user(self.bot_id, self.bot_name, bot=True)] if mentioned else [],
            "mention_roles": [],
            "attachments": files,
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if in_guild:
            message["guild_id"] = str(self.guild_id)
            message["member"] = {"roles": [], "joined_at": _now(), "deaf": False, "mute": False}
        if reply_to is not None:
            replied = next(m for m in self.messages(channel) if m.id == reply_to)
            message["type"] = 19
            message["message_reference"] = {"message_id": str(reply_to), "channel_id": str(channel)}
            message["referenced_message"] = self._message_json(replied)
        self._call(self._dispatch_message(message, in_guild, mentioned))
        return message_id

    def user_runs_command(
        self, user_id: int, channel_id: int | None = None, name: str = "", args: str | None = None
    ) -> int:
        """Dispatch INTERACTION_CREATE for a user running one of the bot's registered slash
        commands, with `args` as its `args` option. Returns the interaction id."""
        channel = self.dm_channel(user_id) if channel_id is None else channel_id
        with self._lock:
            interaction_id = next(self._ids)
        registered = next(c for c in self.application_commands if c["name"] == name)
        data: dict[str, Any] = {"id": registered["id"], "name": name, "type": 1}
        if args is not None:
            data["options"] = [{"name": "args", "type": 3, "value": args}]
        token = f"interaction-token-{interaction_id}"
        interaction: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.bot_id),
            "type": 2,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "channel_id": str(channel),
            "channel": {"id": str(channel), "type": 0 if channel == self.guild_channel_id else 1},
            "data": data,
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": "0",
        }
        if channel == self.guild_channel_id:
            interaction["guild_id"] = str(self.guild_id)
            interaction["member"] = {
                "user": _user(user_id, f"user{user_id}"),
                "roles": [],
                "joined_at": _now(),
                "deaf": False,
                "mute": False,
                "permissions": "0",
            }
        else:
            interaction["user"] = _user(user_id, f"user{user_id}")
        self._interactions[token] = interaction
        session = self._session
        if session is None:
            raise RuntimeError("no bot has identified yet")
        self._call(self._dispatch(session, "INTERACTION_CREATE", interaction))
        return interaction_id

    # -- driving the gateway ---------------------------------------------------------------

    def resend(self, message_id: int) -> None:
        """Dispatch a message's MESSAGE_CREATE once more, as Discord may after a RESUME."""
        session = self._session
        if session is None:
            raise RuntimeError("no bot has identified yet")
        with self._lock:
            event = next(
                e
                for e in session.log
                if e["t"] == "MESSAGE_CREATE" and e["d"]["id"] == str(message_id)
            )
        self._call(self._dispatch(session, "MESSAGE_CREATE", event["d"]))

    def reconnect(self) -> None:
        """Send op 7 RECONNECT: the client should come back and RESUME."""
        self._call(self._send_op(7, None))

    def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID SESSION; with `resumable=False` the session is forgotten, so the
        client must IDENTIFY afresh."""
        if not resumable:
            with self._lock:
                if self._session is not None:
                    self._sessions.pop(self._session.id, None)
        self._call(self._send_op(9, resumable))

    def drop(self) -> None:
        """Cut the gateway's TCP connection without a close frame, as a network failure does."""
        self._call(self._drop())

    @property
    def session_id(self) -> str | None:
        """The id of the newest gateway session."""
        return self._session.id if self._session is not None else None

    @property
    def sequence(self) -> int:
        """The sequence number of the newest session's last event."""
        return self._session.seq if self._session is not None else 0

    def connected(self) -> bool:
        """Whether a client is connected with an identified or resumed session."""
        connection = self._connection
        return connection is not None and connection.session is not None

    def wait_until_connected(self, timeout: float = 10.0) -> None:
        """Block until a bot has identified or resumed: for synchronous code, e.g. while the
        gateway runs in a subprocess (`user_sends` needs a session to dispatch to)."""
        deadline = time.monotonic() + timeout
        while not self.connected():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no bot connected to the gateway within {timeout}s")
            time.sleep(0.02)

    def fail(
        self, method: str, path: str, status: int = 500, *, retry_after: float | None = None
    ) -> None:
        """Make the next REST call whose method is `method` and whose path contains `path`
        fail, e.g. `fail("POST", "/messages", 429, retry_after=0.1)` (sent with the `Via`
        header disnake expects from Discord's edge, so that it waits and retries)."""
        with self._lock:
            self._faults.append(_Fault(method, path, status, retry_after))

    # -- reading what happened -------------------------------------------------------------

    def messages(self, channel_id: int) -> list[SentMessage]:
        """The bot's messages in a channel, oldest first, each as it reads now."""
        with self._lock:
            return list(self._sent.get(channel_id, []))

    def texts(self, channel_id: int) -> list[str]:
        return [m.content for m in self.messages(channel_id)]

    # -- lifecycle -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{name:.+}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.+}", self._rest)
        return app

    async def on_close(self) -> None:
        connection = self._connection
        if connection is not None:
            await connection.ws.close()

    def _call(self, coroutine: Any) -> Any:
        """Run a coroutine in the server's loop from the test's thread."""
        assert self._loop is not None, "the server is not running"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    # -- the gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_gateway > 0:
            self.refuse_gateway -= 1
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress") == "zlib-stream"
        connection = _Connection(ws, request, zlib.compressobj() if compress else None)
        self._connection = connection
        self.connections += 1
        try:
            await self._send(
                connection, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_op(connection, json.loads(message.data))
        finally:
            if self._connection is connection:
                self._connection = None
        return ws

    async def _on_op(self, connection: _Connection, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d") or {}
        if op == 1:
            await self._send(connection, {"op": 11})
        elif op == 2:
            self.identifies.append(data)
            await self._identify(connection, data)
        elif op == 6:
            self.resumes.append(data)
            await self._resume(connection, data)

    async def _identify(self, connection: _Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & MESSAGE_CONTENT_INTENT and not self.message_content_allowed:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        session = _Session(uuid.uuid4().hex, intents)
        with self._lock:
            self._sessions[session.id] = session
            self._session = session
        connection.session = session
        await self._dispatch(session, "READY", self._ready(session))
        await self._dispatch(session, "GUILD_CREATE", self._guild())

    async def _resume(self, connection: _Connection, data: dict[str, Any]) -> None:
        """Replay what the session missed since `seq`, then RESUMED; op 9 if it is unknown."""
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            await self._send(connection, {"op": 9, "d": False})
            return
        connection.session = session
        for event in list(session.log):
            if event["s"] > int(data.get("seq") or 0):
                await self._send(connection, event)
        await self._dispatch(session, "RESUMED", {})

    def _ready(self, session: _Session) -> dict[str, Any]:
        return {
            "v": 10,
            "user": _user(self.bot_id, self.bot_name, bot=True),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.bot_id), "flags": 0},
        }

    def _guild(self) -> dict[str, Any]:
        channel = {
            "id": str(self.guild_channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }
        return {
            "id": str(self.guild_id),
            "name": "Test server",
            "owner_id": "1",
            "unavailable": False,
            "large": False,
            "member_count": 2,
            "joined_at": _now(),
            "roles": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "channels": [channel],
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }

    async def _dispatch_message(
        self, message: dict[str, Any], in_guild: bool, mentioned: bool
    ) -> None:
        session = self._session
        if session is None:
            raise RuntimeError("no bot has identified yet")
        if in_guild and not mentioned and not session.intents & MESSAGE_CONTENT_INTENT:
            message = {**message, "content": "", "attachments": [], "embeds": []}
        await self._dispatch(session, "MESSAGE_CREATE", message)

    async def _dispatch(self, session: _Session, event: str, data: Any) -> None:
        """Number and log an event; send it now if the session's client is connected (else
        it is replayed on RESUME)."""
        with self._lock:
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.log.append(payload)
        connection = self._connection
        if connection is not None and connection.session is session:
            await self._send(connection, payload)

    async def _send_op(self, op: int, data: Any) -> None:
        connection = self._connection
        if connection is None:
            raise RuntimeError("no client is connected to the gateway")
        await self._send(connection, {"op": op, "d": data})

    async def _send(self, connection: _Connection, payload: dict[str, Any]) -> None:
        if connection.ws.closed:
            return
        text = json.dumps(payload)
        if connection.compressor is None:
            await connection.ws.send_str(text)
        else:
            data = connection.compressor.compress(text.encode())
            data += connection.compressor.flush(zlib.Z_SYNC_FLUSH)
            assert data.endswith(_ZLIB_SUFFIX)
            await connection.ws.send_bytes(data)

    async def _drop(self) -> None:
        connection = self._connection
        if connection is None:
            raise RuntimeError("no client is connected to the gateway")
        self._connection = None
        transport = connection.request.transport
        if transport is not None:
            transport.abort()

    # -- REST ------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body, files = await _read_body(request)
        record = Request(request.method, path, body)
        with self._lock:
            self.requests.append(record)
        try:
            by_token = path.startswith(("/interactions/", "/webhooks/"))  # the token is the key
            if not by_token and request.headers.get("Authorization") != f"Bot {self.token}":
                raise DiscordAPIError(401, 0, "401: Unauthorized")
            fault = self._take_fault(request.method, path)
            if fault is not None:
                record.status = fault.status
                return _fault_response(fault)
            result = self._route(request.method, path, body or {}, files)
        except DiscordAPIError as exc:
            record.status = exc.status
            return _json({"code": exc.code, "message": exc.message}, exc.status)
        if result is None:
            record.status = 204
            return web.Response(status=204)
        if request.method == "POST" and path.endswith("/messages") and self._session is not None:
            # Discord sends the bot its own messages too; a bot must not answer itself
            await self._dispatch(self._session, "MESSAGE_CREATE", result)
        return _json(result)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path in path:
                    self._faults.remove(fault)
                    return fault
        return None

    def _route(
        self, method: str, path: str, body: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> Any:
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/users/@me"):
            return _user(self.bot_id, self.bot_name, bot=True)
        if (method, path) in (("GET", "/gateway/bot"), ("GET", "/gateway")):
            return {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        if (method, parts[0], parts[2:]) == ("PUT", "applications", ["commands"]):
            return self._register_commands(body)
        if (method, parts[0], parts[3:]) == ("POST", "interactions", ["callback"]):
            return self._interaction_callback(parts[2], body)
        if parts[0] == "webhooks" and parts[3:] == ["messages", "@original"]:
            return self._original_response(method, parts[2], body)
        if parts[0] == "channels" and len(parts) >= 3:
            channel = int(parts[1])
            if (method, parts[2:]) == ("POST", ["messages"]):
                return self._create_message(channel, body, files)
            if method == "PATCH" and parts[2] == "messages" and len(parts) == 4:
                return self._edit_message(channel, int(parts[3]), body)
            if (method, parts[2:]) == ("POST", ["typing"]):
                with self._lock:
                    self.typing[channel] = self.typing.get(channel, 0) + 1
                return None
        raise DiscordAPIError(404, 0, f"404: Not Found ({method} {path} is not in this fake)")

    def _create_message(
        self, channel: int, body: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        content = _check_content(body.get("content"), bool(files))
        reference = body.get("message_reference") or {}
        with self._lock:
            sent = SentMessage(next(self._ids), channel, content, files=files)
            if reference.get("message_id"):
                sent.reply_to = int(reference["message_id"])
            self._sent.setdefault(channel, []).append(sent)
        return self._message_json(sent)

    def _edit_message(self, channel: int, message_id: int, body: dict[str, Any]) -> Any:
        with self._lock:
            sent = next((m for m in self._sent.get(channel, []) if m.id == message_id), None)
            if sent is None:
                raise DiscordAPIError(404, 10008, "Unknown Message")
            if "content" in body:
                sent.content = _check_content(body["content"], bool(sent.files))
                sent.edits.append(sent.content)
        return self._message_json(sent)

    def _register_commands(self, commands: Any) -> list[dict[str, Any]]:
        with self._lock:
            self.application_commands = [
                {
                    **command,
                    "id": str(next(self._ids)),
                    "application_id": str(self.bot_id),
                    "version": "1",
                    "type": command.get("type", 1),
                }
                for command in commands
            ]
            return self.application_commands

    def _interaction(self, token: str) -> dict[str, Any]:
        interaction = self._interactions.get(token)
        if interaction is None:
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        return interaction

    def _interaction_callback(self, token: str, body: dict[str, Any]) -> None:
        """Type 5 shows "thinking…" as the answer; type 4 answers with a message at once."""
        interaction = self._interaction(token)
        with self._lock:
            if interaction.get("acknowledged"):
                raise DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")
            interaction["acknowledged"] = True
            self.interaction_callbacks.append(body)
            channel = int(interaction["channel_id"])
            content = (body.get("data") or {}).get("content", "")
            sent = SentMessage(
                next(self._ids), channel, content, interaction_id=int(interaction["id"])
            )
            self._sent.setdefault(channel, []).append(sent)
        return None

    def _original_response(self, method: str, token: str, body: dict[str, Any]) -> Any:
        interaction = self._interaction(token)
        channel = int(interaction["channel_id"])
        with self._lock:
            sent = next(
                (
                    m
                    for m in self._sent.get(channel, [])
                    if m.interaction_id == int(interaction["id"])
                ),
                None,
            )
            if sent is None:
                raise DiscordAPIError(404, 10008, "Unknown Message")
            if method == "DELETE":
                self._sent[channel].remove(sent)
                return None
            if method == "PATCH" and "content" in body:
                sent.content = _check_content(body["content"], bool(sent.files))
                sent.edits.append(sent.content)
        return self._message_json(sent)

    def _message_json(self, sent: SentMessage) -> dict[str, Any]:
        attachments = [
            {
                "id": str(index),
                "filename": name,
                "size": len(data),
                "url": f"{self.url}/attachments/sent/{sent.id}/{name}",
                "proxy_url": f"{self.url}/attachments/sent/{sent.id}/{name}",
            }
            for index, (name, data) in enumerate(sent.files)
        ]
        message: dict[str, Any] = {
            "id": str(sent.id),
            "channel_id": str(sent.channel_id),
            "author": _user(self.bot_id, self.bot_name, bot=True),
            "content": sent.content,
            "timestamp": _now(),
            "edited_timestamp": _now() if sent.edits else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": [],
            "pinned": False,
            "type": 19 if sent.reply_to else 0,
            "flags": 0,
        }
        if sent.channel_id == self.guild_channel_id:
            message["guild_id"] = str(self.guild_id)
        if sent.reply_to:
            message["message_reference"] = {
                "message_id": str(sent.reply_to),
                "channel_id": str(sent.channel_id),
            }
        return message

    # -- the CDN ---------------------------------------------------------------------------

    def _attachment(
        self, channel: int, filename: str, data: bytes, content_type: str | None
    ) -> dict[str, Any]:
        attachment_id = next(self._ids)
        name = f"{channel}/{attachment_id}/{filename}"
        self._files[name] = data
        url = f"{self.url}/attachments/{name}"
        attachment: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
        }
        if content_type is not None:
            attachment["content_type"] = content_type
        return attachment

    async def _cdn(self, request: web.Request) -> web.Response:
        with self._lock:
            self.downloads.append(request.match_info["name"])
        data = self._files.get(request.match_info["name"])
        fault = self._take_fault("GET", f"/attachments/{request.match_info['name']}")
        if data is None or fault is not None:
            return web.Response(status=404 if fault is None else fault.status)
        return web.Response(body=data, content_type="application/octet-stream")


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(data: Any, status: int = 200) -> web.Response:
    """JSON with the exact content type disnake parses (no `; charset=utf-8`)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _fault_response(fault: _Fault) -> web.Response:
    if fault.status == 429:
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after or 0.1}
        response = _json({**body, "global": False}, 429)
        response.headers["Via"] = "1.1 google"
        return response
    return _json({"code": 0, "message": f"{fault.status}: scripted failure"}, fault.status)


def _check_content(content: Any, has_files: bool) -> str:
    """Discord's checks on a message's content: not empty (unless files come with it), at
    most 2000 characters."""
    text = "" if content is None else str(content)
    if not text and not has_files:
        raise DiscordAPIError(400, 50006, "Cannot send an empty message")
    if len(text) > MAX_CONTENT:
        raise DiscordAPIError(
            400, 50035, f"Invalid Form Body: content: Must be {MAX_CONTENT} or fewer in length."
        )
    return text


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    """The JSON body, or for multipart uploads the `payload_json` field and the files."""
    if request.content_type == "application/json":
        return await request.json(), []
    if not request.content_type.startswith("multipart/"):
        return None, []
    body: Any = None
    files: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            body = json.loads(await part.text())
        elif part.filename:
            files.append((part.filename, bytes(await part.read())))
    return body, files
