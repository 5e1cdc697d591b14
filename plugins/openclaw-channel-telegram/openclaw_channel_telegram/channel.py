"""The Telegram channel: long polling (or a webhook) in, the kernel's reply surface out.

Transport only: every message becomes an `InboundMessage` handed to `inbox.deliver`; commands,
limits, sessions and the streaming reply are the kernel's. aiogram is imported when the channel
is built, never when the plugin loads.

Delivery: each update is read on its own and recorded in the gateway's store before Telegram is
told it arrived (the next `getUpdates` offset, or the webhook's 200), so a crash loses nothing
and a redelivered update is dropped. An update that cannot be read is skipped and counted, not
retried: aiogram's own polling rejects a whole batch for one bad update and asks again forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw.channel_support import IMAGE_PROMPT, InboundHandlers
from openclaw.channels import Attachment, InboundMessage, MarkupRejected
from openclaw.mime import image_mime
from openclaw.retry import Backoff, Delays, retry
from openclaw_channel_telegram.aiogram_import import build_models, import_aiogram
from openclaw_channel_telegram.markdown import to_markdown_v2
from openclaw_channel_telegram.session import session_class
from openclaw_channel_telegram.settings import TelegramSettings

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Message, Update

    from openclaw.channels import Inbox
    from openclaw.services import Services

log = logging.getLogger("openclaw.telegram")
T = TypeVar("T")

MAX_CAPTION = 1024
DRAIN_SECONDS = 30.0
MAX_DOWNLOAD_MB = 20  # the Bot API's limit for files a bot may download


class TelegramChannel:
    """One bot: receives updates and offers the reply surface the streaming reply drives."""

    name = "telegram"
    prefix = "tg"
    max_len = 4096
    max_caption_len = MAX_CAPTION

    def __init__(self, services: Services | None, settings: TelegramSettings) -> None:
        self.services = services
        self.settings = settings
        self.state = "stopped"
        self._token = settings.bot_token()
        self._bot: Bot | None = None
        self._inbox: Inbox | None = None
        self._username = ""
        self.webhook_port = 0
        """The port the webhook server listens on, once running (useful with port 0)."""
        self._stop = asyncio.Event()
        self._idle = asyncio.Event()  # set while `run` is not receiving
        self._idle.set()
        self._handlers = InboundHandlers(self.name)

    @property
    def bot(self) -> Bot:
        """The aiogram Bot, made on first use (surface calls may come before `run`)."""
        if self._bot is None:
            import_aiogram()
            from aiogram import Bot
            from aiogram.client.telegram import TelegramAPIServer
            from aiogram.types import ReplyParameters, Update

            build_models(Update, ReplyParameters, _raw_get_updates())
            api = TelegramAPIServer.from_base(self.settings.api_base)
            session = session_class()(api=api)
            self._bot = Bot(self._token, session=session)
        return self._bot

    # -- receiving ---------------------------------------------------------------------------

    async def run(self, inbox: Inbox) -> None:
        """Receive until `stop`; raises when the Bot API refuses us (the gateway restarts)."""
        self._inbox = inbox
        self._stop.clear()
        self._idle.clear()
        self.state = "starting"
        try:
            me = await self._request(self.bot.get_me)
            self._username = me.username or ""
            if self.settings.mode == "webhook":
                await self._run_webhook()
            else:
                await self._run_polling()
        except Exception as exc:
            self.state = f"failed: {exc}"
            raise
        finally:
            self._idle.set()
        self.state = "stopped"

    async def stop(self) -> None:
        """Stop taking messages, let the ones being handled finish (bounded), close the bot."""
        self._stop.set()
        await self._handlers.drain(DRAIN_SECONDS)
        # Closing the session under a running long poll would only make aiogram retry it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), 5)
        if self._bot is not None:
            await self._bot.session.close()
        self.state = "stopped"

    async def _run_polling(self) -> None:
        """Long polling of raw updates; the offset moves past an update only once it is
        recorded (or skipped), so Telegram keeps whatever a crash interrupted."""
        from aiogram.exceptions import TelegramNetworkError, TelegramServerError
        from aiohttp import ClientError

        # A webhook left over from webhook mode would make getUpdates fail with 409.
        await self._request(self.bot.delete_webhook)
        backoff = Backoff(self.settings.retry_delay, 30.0)
        offset: int | None = None
        self.state = "running"
        while not self._stop.is_set():
            try:
                updates = await self._until_stopped(self._get_updates(offset))
            except (TelegramServerError, TelegramNetworkError, ClientError, TimeoutError) as exc:
                # shown in /health and /status while it lasts; no update content is logged
                self.state = f"degraded: getUpdates failed ({type(exc).__name__})"
                delay = backoff.delay()
                log.warning("telegram: getUpdates failed (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                continue
            if updates is None:  # stopped while waiting
                return
            backoff.connected()
            self.state = "running"
            for raw in updates:
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if isinstance(update_id, int):
                    offset = max(offset or 0, update_id + 1)
                self.receive(raw)

    async def _until_stopped(self, call: Awaitable[T]) -> T | None:
        """`call`'s result, or None when the channel is stopped first (a long poll that is
        cut confirms nothing)."""
        work = asyncio.ensure_future(call)
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        return None

    async def _get_updates(self, offset: int | None) -> list[dict[str, Any]]:
        """One `getUpdates` call; the updates as JSON, each to be read on its own."""
        method = _raw_get_updates()(offset=offset, timeout=self.settings.poll_timeout)
        timeout = int((self.bot.session.timeout or 60) + self.settings.poll_timeout)
        result = await self.bot(method, request_timeout=timeout)
        return list(result)

    def receive(self, raw: Any) -> None:
        """Take one update: read it, record its message, then handle it in a task of its own.
        An update that cannot be read is logged without its content and skipped."""
        from aiogram.types import Update
        from pydantic import ValidationError

        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            self._skip(raw, exc)
            return
        message = update.message
        inbox = self._inbox
        if message is not None and inbox is not None:
            payload = json.dumps(raw, ensure_ascii=False)
            if not inbox.record(self, str(message.chat.id), str(message.message_id), payload):
                return  # a redelivery: recorded before, answered (or resumed) from there
        self._feed(update)

    async def redeliver(self, inbox: Inbox, payload: str) -> None:
        """Hand a recorded update over again (the gateway resumes it after a restart)."""
        from aiogram.types import Update

        self._inbox = inbox
        self._feed(Update.model_validate(json.loads(payload), context={"bot": self.bot}))

    def _feed(self, update: Update) -> None:
        """Handle the update's message in a task of its own. aiogram's Dispatcher is not used:
        its router and middlewares (FSM, user context) run on every update and
        route nothing here but `message`; other update kinds are ignored."""
        if update.message is None:
            return
        task = asyncio.create_task(self._on_message(update.message))
        self._handlers.track(task)

    def _skip(self, raw: Any, exc: Exception) -> None:
        """Log a poison update by id and by what is wrong with it (never its text) and count
        it (`openclaw_updates_skipped_total`, `/status`)."""
        from pydantic import ValidationError

        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        problems = str(type(exc).__name__)
        if isinstance(exc, ValidationError):
            errors = exc.errors(include_input=False, include_url=False, include_context=False)
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['type']}"
                for error in errors[:5]
            )
        log.warning("telegram: skipped update %s that could not be read (%s)", update_id, problems)
        if self._inbox is not None:
            self._inbox.skipped(self)

    async def _run_webhook(self) -> None:
        from aiohttp import web

        secret = self.settings.secret(self.settings.webhook_secret)

        async def receive(request: web.Request) -> web.Response:
            if secret and request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                return web.Response(status=401)
            try:
                update = await request.json()
            except ValueError as exc:
                self._skip(None, exc)
                return web.Response(text="ok")  # a 4xx/5xx would only make Telegram resend it
            # Recorded before the 200; handled in a task, since Telegram redelivers updates
            # whose request takes too long.
            self.receive(update)
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post(self.settings.webhook_path, receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.webhook_host, self.settings.webhook_port)
        await site.start()
        self.webhook_port = runner.addresses[0][1]
        try:
            url = self.settings.webhook_url or ""
            await self._request(lambda: self.bot.set_webhook(url, secret_token=secret))
            self.state = "running"
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def _on_message(self, message: Message) -> None:
        await self._handlers.handle(self, self._inbox, lambda: self.inbound(message))

    async def inbound(self, message: Message) -> InboundMessage | None:
        """The kernel's view of a Telegram message (files downloaded), or None to ignore it."""
        if message.from_user is None or message.from_user.is_bot:
            return None
        text = self._strip_bot_mention(message.text or message.caption or "")
        user_id = str(message.from_user.id)
        attachments: list[Attachment] = []
        problem = ""
        stranger = self._inbox is not None and not self._inbox.knows(self.name, user_id)
        if not stranger:  # a stranger's files are never downloaded; the gateway answers (or not)
            try:
                text, attachments = await self._files(message, text)
            except Exception as exc:
                log.warning("telegram: downloading a file failed: %s", exc)
                problem = _download_problem(exc)
            if not text and not attachments and not problem:
                return None
        return InboundMessage(
            channel=self.prefix,
            user_id=user_id,
            chat_id=str(message.chat.id),
            text=text,
            attachments=attachments,
            message_id=str(message.message_id),
            raw=message,
            private=message.chat.type == "private",
            problem=problem,
        )

    async def _files(self, message: Message, text: str) -> tuple[str, list[Attachment]]:
        """The message's file downloaded as an attachment, and the text to go with it."""
        attachments: list[Attachment] = []
        if message.photo:
            largest = max(message.photo, key=lambda size: size.width * size.height)
            data = await self.download(largest.file_id)
            # Telegram re-encodes photos as JPEG
            attachments.append(Attachment("image", data, image_mime(data) or "image/jpeg"))
            text = text or IMAGE_PROMPT
        elif message.voice or message.audio:
            media = message.voice or message.audio
            assert media is not None
            data = await self.download(media.file_id)
            filename = getattr(media, "file_name", None) or "voice.ogg"
            mime = media.mime_type or "audio/ogg"
            attachments.append(Attachment("audio", data, mime, filename))
        elif message.document:
            document = message.document
            data = await self.download(document.file_id)
            mime = document.mime_type or "application/octet-stream"
            kind = "image" if mime.startswith("image/") else "file"
            attachments.append(Attachment(kind, data, mime, document.file_name or ""))
            if kind == "image":
                text = text or IMAGE_PROMPT
        return text, attachments

    def _strip_bot_mention(self, text: str) -> str:
        """`/help@my_bot args` in a group → `/help args`, so kernel commands match."""
        if self._username and text.startswith("/"):
            command, space, rest = text.partition(" ")
            suffix = f"@{self._username}"
            if command.lower().endswith(suffix.lower()):
                return command[: -len(suffix)] + space + rest
        return text

    async def download(self, file_id: str) -> bytes:
        """A user's file by id (getFile, then the file URL), retried like every call."""

        async def fetch() -> bytes:
            buffer = await self.bot.download(file_id)
            assert buffer is not None
            return buffer.read()

        return await self._request(fetch)

    # -- the reply surface -------------------------------------------------------------------

    def format_markdown(self, text: str) -> str:
        return to_markdown_v2(text)

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        from aiogram.types import ReplyParameters

        reply = None
        if reply_to is not None:
            reply = ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
        body, parse_mode = self._markup(text, markdown)
        sent = await self._request(
            lambda: self.bot.send_message(
                _chat(chat_id), body, parse_mode=parse_mode, reply_parameters=reply
            ),
            markdown=markdown,
        )
        return str(sent.message_id)

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        from aiogram.exceptions import TelegramBadRequest

        body, parse_mode = self._markup(text, markdown)
        try:
            await self._request(
                lambda: self.bot.edit_message_text(
                    body, chat_id=_chat(chat_id), message_id=int(message_id), parse_mode=parse_mode
                ),
                markdown=markdown,
            )
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise

    async def send_typing(self, chat_id: str) -> None:
        await self._request(lambda: self.bot.send_chat_action(_chat(chat_id), "typing"))

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        from aiogram.types import BufferedInputFile

        document = BufferedInputFile(data, filename)
        await self._request(
            lambda: self.bot.send_document(_chat(chat_id), document, caption=_caption(caption))
        )

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        from aiogram.types import BufferedInputFile

        voice = BufferedInputFile(ogg_opus, "voice.ogg")
        await self._request(
            lambda: self.bot.send_voice(_chat(chat_id), voice, caption=_caption(caption))
        )

    def _markup(self, text: str, markdown: bool) -> tuple[str, str | None]:
        return (self.format_markdown(text), "MarkdownV2") if markdown else (text, None)

    async def _request(self, call: Callable[[], Awaitable[T]], *, markdown: bool = False) -> T:
        """Run a Bot API call: wait out 429s, back off on 5xx and dropped connections, and turn
        a markup rejection into MarkupRejected so the reply is resent as plain text."""
        from aiogram.exceptions import (
            TelegramBadRequest,
            TelegramEntityTooLarge,
            TelegramNetworkError,
            TelegramRetryAfter,
            TelegramServerError,
        )
        from aiohttp import ClientError

        transient = (TelegramServerError, TelegramNetworkError, ClientError, TimeoutError)

        async def once() -> T:
            try:
                return await call()
            except TelegramBadRequest as exc:
                if markdown and "can't parse entities" in exc.message.lower():
                    raise MarkupRejected(exc.message) from exc
                raise

        def retryable(exc: BaseException) -> bool:
            # a too-large upload is a network error to aiogram, and never worth resending
            too_large = isinstance(exc, TelegramEntityTooLarge)
            return isinstance(exc, (TelegramRetryAfter, *transient)) and not too_large

        def asked(exc: BaseException) -> float | None:
            return float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else None

        def report(exc: BaseException, delay: float, _: int) -> None:
            if isinstance(exc, TelegramRetryAfter):
                log.warning("telegram: rate-limited, retrying in %ss", delay)
            else:
                log.warning("telegram: %s, retrying in %.1fs", exc, delay)

        return await retry(
            once,
            attempts=self.settings.retries + 1,
            retry_on=retryable,
            delays=Delays(self.settings.retry_delay),
            retry_after=asked,
            on_retry=report,
        )


@functools.cache
def _raw_get_updates() -> Any:
    """`getUpdates` answering plain JSON, so that each update is read (and maybe skipped) on
    its own instead of one bad update failing the whole batch."""
    import_aiogram()
    from aiogram.methods import TelegramMethod

    class RawGetUpdates(TelegramMethod[list[dict[str, Any]]]):
        __returning__ = list[dict[str, Any]]
        __api_method__ = "getUpdates"

        offset: int | None = None
        limit: int | None = None
        timeout: int | None = None
        allowed_updates: list[str] | None = None

    return RawGetUpdates


def _download_problem(exc: Exception) -> str:
    """What the user is told when their file could not be downloaded."""
    from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge

    too_big = isinstance(exc, TelegramEntityTooLarge) or (
        isinstance(exc, TelegramBadRequest) and "too big" in exc.message.lower()
    )
    if too_big:
        return (
            f"Your file is too large: bots may only download files up to {MAX_DOWNLOAD_MB} MB "
            "from Telegram. Please send a smaller one."
        )
    return "I could not download your file from Telegram; please send it again."


def _chat(chat_id: str) -> int | str:
    """Numeric ids as ints; `@channel` names as they are."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def _caption(caption: str) -> str | None:
    if len(caption) > MAX_CAPTION:
        return caption[: MAX_CAPTION - 1] + "…"
    return caption or None


def create(services: Services | None, settings: TelegramSettings) -> TelegramChannel:
    """The `ChannelType.create` factory."""
    return TelegramChannel(services, settings)
