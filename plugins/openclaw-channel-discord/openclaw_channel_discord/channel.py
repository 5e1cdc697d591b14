"""The Discord channel: disnake's gateway websocket in, the kernel's reply surface out over REST.

Transport only: every message for the bot becomes an `InboundMessage` handed to
`inbox.deliver`; commands, limits, sessions and the streaming reply are the kernel's. disnake
is imported when the channel connects or first replies, never when the plugin loads.

Connection: disnake keeps one gateway session alive itself (op 7 RECONNECT and dropped sockets
are RESUMEd with the session id and sequence; after op 9 it identifies afresh). When the gateway
cannot be reached at all, `run` waits with exponential backoff (reset by a healthy session) and
connects again; replies keep flowing over REST meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from openclaw.channel_support import IMAGE_PROMPT, InboundHandlers
from openclaw.channels import Attachment, Channel, InboundMessage
from openclaw.commands import match_command
from openclaw.mime import audio_mime, image_mime
from openclaw.retry import Backoff, Delays, retry
from openclaw_channel_discord.markdown import to_discord
from openclaw_channel_discord.settings import DiscordSettings

if TYPE_CHECKING:
    import disnake
    from disnake.interactions.application_command import ApplicationCommandInteraction

    from openclaw.channels import Inbox
    from openclaw.services import Services
    from openclaw_channel_discord.client import BotClient

log = logging.getLogger("openclaw.discord")
T = TypeVar("T")

DRAIN_SECONDS = 30.0
FATAL_CLOSE_CODES = {
    4004: "Discord rejected the bot token (channels.discord.token)",
    4010: "Discord refused the shard settings",
    4011: "the bot is in too many servers to run without sharding",
    4012: "Discord no longer accepts this gateway version; upgrade disnake",
    4013: "Discord refused the requested intents",
    4014: (
        "the bot may not read message content: switch on 'Message Content Intent' under "
        "Bot → Privileged Gateway Intents in the Discord Developer Portal"
    ),
}
"""Gateway close codes that no reconnect can fix, and what to do about them."""


class GatewayRefused(RuntimeError):
    """Discord closed the gateway for a reason that retrying will not fix."""


class DiscordChannel:
    """One bot: receives gateway events and offers the reply surface the streaming reply
    drives."""

    name = "discord"
    prefix = "dc"
    max_len = 2000
    max_caption_len = 2000  # a file's caption is the message's content

    def __init__(self, services: Services | None, settings: DiscordSettings) -> None:
        self.services = services
        self.settings = settings
        self.state = "stopped"
        self.backoff = Backoff(settings.reconnect_delay, settings.reconnect_max_delay)
        self.bot_id: int | None = None
        """The bot's user id, known after login."""
        self._token = settings.bot_token()
        self._client: BotClient | None = None
        self._login_lock = asyncio.Lock()
        self._logged_in = False
        self._inbox: Inbox | None = None
        self._stop = asyncio.Event()
        self._handlers = InboundHandlers(self.name)
        self._registering: asyncio.Task[None] | None = None
        self.commands_registered = False
        """Whether the kernel's commands are registered as Discord slash commands."""

    @property
    def client(self) -> BotClient:
        """The disnake client, made on first use (surface calls may come before `run`)."""
        if self._client is None:
            import disnake.http

            from openclaw_channel_discord.client import BotClient

            disnake.http.Route.BASE = self.settings.api_base  # disnake's REST root is global
            self._client = BotClient(self)
        return self._client

    async def _login(self) -> BotClient:
        """The client, logged in (`GET /users/@me`) once."""
        import disnake

        client = self.client
        async with self._login_lock:
            if not self._logged_in:
                try:
                    await client.login(self._token)
                except BaseException as exc:
                    await client.http.close()  # each login attempt opens its own HTTP session
                    if isinstance(exc, disnake.LoginFailure):
                        raise GatewayRefused(FATAL_CLOSE_CODES[4004]) from None
                    raise
                self.bot_id = client.user.id
                self._logged_in = True
        return client

    # -- the connection ----------------------------------------------------------------------

    async def run(self, inbox: Inbox) -> None:
        """Receive until `stop`; raises when Discord refuses the bot for good (bad token,
        missing intent): the kernel's gateway then restarts the channel with backoff."""
        self._inbox = inbox
        self._stop.clear()
        self.state = "starting"
        try:
            client = await self._login()
            while not self._stop.is_set():
                await self._connect(client)
                if self._stop.is_set():
                    break
                self.state = "reconnecting"
                delay = self.backoff.delay()
                log.warning("discord: connecting to the gateway again in %.1fs", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        except Exception as exc:
            self.state = f"failed: {exc}"
            raise
        self.state = "stopped"

    async def _connect(self, client: BotClient) -> None:
        """One gateway session, until it is lost for good or the channel stops."""
        import aiohttp
        import disnake

        try:
            await client.connect(reconnect=False)
        except disnake.ConnectionClosed as exc:
            if exc.code in FATAL_CLOSE_CODES:
                raise GatewayRefused(FATAL_CLOSE_CODES[exc.code]) from None
            log.warning("discord: the gateway closed the connection (code %s)", exc.code)
        except (OSError, TimeoutError, aiohttp.ClientError, disnake.DiscordException) as exc:
            log.warning("discord: cannot reach the gateway: %s", exc)
        finally:
            if not self._stop.is_set():
                # disnake closes the client when a session cannot go on: reopen its HTTP
                # session at once so replies keep flowing; the next connect identifies afresh.
                client.clear()

    def connected(self, how: str) -> None:
        """Called by the client on READY ("identified") and RESUMED ("resumed")."""
        log.info("discord: gateway session %s", how)
        self.backoff.connected()
        self.state = "running"
        wanted = self.settings.application_commands and self._inbox is not None
        if wanted and not self.commands_registered and self._registering is None:
            self._registering = asyncio.create_task(self._register_commands())

    async def _register_commands(self) -> None:
        """Offer the kernel's commands in Discord's `/` menu (one bulk overwrite); a failure
        is logged: typed commands work without it."""
        from openclaw_channel_discord.slash import application_commands

        client = self.client
        assert self._inbox is not None
        commands = application_commands(self._inbox.commands())
        try:
            await self.api_call(lambda: client.bulk_overwrite_global_commands(commands))
            self.commands_registered = True
        except Exception:
            log.exception("discord: registering the slash commands failed")
        finally:
            self._registering = None

    def disconnected(self) -> None:
        """Called by the client whenever the gateway connection is lost."""
        if not self._stop.is_set():
            self.state = "reconnecting"

    async def stop(self) -> None:
        """Stop taking messages, let the ones being handled finish (bounded), disconnect."""
        self._stop.set()
        await self._handlers.drain(DRAIN_SECONDS)
        if self._registering is not None:
            self._registering.cancel()
        if self._client is not None:
            await self._client.close()
        self.state = "stopped"

    # -- receiving ---------------------------------------------------------------------------

    async def on_command(self, interaction: ApplicationCommandInteraction) -> None:
        """Called by the client when someone runs one of the registered slash commands: it is
        acknowledged at once (Discord wants an answer within 3 s) and handled like the typed
        command; its first reply answers the interaction."""
        from openclaw_channel_discord.slash import InteractionReply, command_text

        reply = InteractionReply(self, interaction)

        async def inbound() -> InboundMessage:
            await interaction.response.defer()  # single-use: never retried
            return InboundMessage(
                channel=self.prefix,
                user_id=str(interaction.author.id),
                chat_id=str(interaction.channel.id),
                text=command_text(interaction),
                raw=interaction,
                private=interaction.guild is None,
            )

        # the gateway uses only the name and the reply surface of what it is handed
        await self._handlers.handle(cast(Channel, reply), self._inbox, inbound)
        if reply.answer_id is None and interaction.response.is_done():
            # refused (a stranger, say): take the "thinking…" away instead of leaving it
            with contextlib.suppress(Exception):
                await interaction.delete_original_response()

    async def on_message(self, message: disnake.Message) -> None:
        """Called by the client for every message the bot can see."""
        await self._handlers.handle(self, self._inbox, lambda: self.inbound(message))

    async def inbound(self, message: disnake.Message) -> InboundMessage | None:
        """The kernel's view of a Discord message (attachments downloaded), or None when it
        is not for the bot."""
        if message.author.bot:
            return None
        text = self._strip_mention(message.content)
        if message.guild is not None and not self._addressed(message, text):
            return None
        limit = self.settings.max_attachment_mb
        cap = limit * 1024 * 1024
        user_id = str(message.author.id)
        if self._inbox is not None and not self._inbox.knows(self.name, user_id):
            # a stranger's files are never downloaded; the gateway answers (or not)
            private = message.guild is None
            return InboundMessage(
                self.prefix, user_id, str(message.channel.id), text, private=private
            )
        chat_id = str(message.channel.id)
        if self._inbox is not None and not self._inbox.record(self, chat_id, str(message.id)):
            return None  # delivered again (a RESUME replays what it thinks we missed)
        fitting = [a for a in message.attachments if a.size <= cap]
        try:
            found = [await self._attachment(a) for a in fitting]
        except Exception as exc:
            log.warning("discord: downloading an attachment failed: %s", exc)
            problem = "I could not download your attachment from Discord; please send it again."
            return InboundMessage(
                self.prefix,
                user_id,
                chat_id,
                text,
                message_id=str(message.id),
                private=message.guild is None,
                problem=problem,
            )
        if not text and any(a.kind == "image" for a in found):
            text = IMAGE_PROMPT
        # a file too large to download is named to the agent, so the answer can say so
        skipped = [
            f"(attachment {a.filename}, {a.size / 1024 / 1024:.1f} MB, was not read: larger "
            f"than the {limit:g} MB limit)"
            for a in message.attachments
            if a.size > cap
        ]
        text = "\n".join([text, *skipped]).strip()
        if not text and not found:
            return None
        return InboundMessage(
            channel=self.prefix,
            user_id=user_id,
            chat_id=chat_id,
            text=text,
            attachments=found,
            message_id=str(message.id),
            raw=message,
            private=message.guild is None,
        )

    def _strip_mention(self, content: str) -> str:
        """`<@bot> /ping` → `/ping`; `hey <@bot> you` → `hey you`."""
        if self.bot_id is None:
            return content.strip()
        return re.sub(rf"\s*<@!?{self.bot_id}>\s*", " ", content).strip()

    def _addressed(self, message: disnake.Message, text: str) -> bool:
        """In a server channel: is the message for the bot (a mention, a reply to the bot, or
        one of the kernel's commands)?"""
        if not self.settings.require_mention:
            return True
        import disnake

        if any(user.id == self.bot_id for user in message.mentions):
            return True
        replied = message.reference.resolved if message.reference else None
        if isinstance(replied, disnake.Message) and replied.author.id == self.bot_id:
            return True
        if self._inbox is None:
            return False
        return match_command(self._inbox.commands(), text) is not None

    async def _attachment(self, attachment: disnake.Attachment) -> Attachment:
        """Download an attachment; images and audio are recognised by their bytes, not by
        the name or type the sender's client gave them."""
        data = await self.api_call(attachment.read)
        if mime := image_mime(data):
            return Attachment("image", data, mime, attachment.filename)
        if mime := audio_mime(data):
            return Attachment("audio", data, mime, attachment.filename)
        mime = attachment.content_type or "application/octet-stream"
        return Attachment("file", data, mime, attachment.filename)

    # -- the reply surface -------------------------------------------------------------------

    def format_markdown(self, text: str) -> str:
        return to_discord(text)

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        import disnake

        options: dict[str, Any] = {}
        if reply_to is not None:  # threaded under the user's message, even if it was deleted
            options["reference"] = disnake.MessageReference(
                message_id=int(reply_to), channel_id=int(chat_id), fail_if_not_exists=False
            )
        content = self.format_markdown(text) if markdown else text
        channel = await self._channel(chat_id)
        sent = await self.api_call(lambda: channel.send(content, **options))
        return str(sent.id)

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        content = self.format_markdown(text) if markdown else text
        message = (await self._channel(chat_id)).get_partial_message(int(message_id))
        await self.api_call(lambda: message.edit(content=content))

    async def send_typing(self, chat_id: str) -> None:
        channel = await self._channel(chat_id)
        await self.api_call(channel.trigger_typing)

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        import disnake

        channel = await self._channel(chat_id)
        content = caption[: self.max_len] or None

        async def upload() -> disnake.Message:
            # a fresh File per attempt: a retried upload must read the bytes again
            return await channel.send(content, file=disnake.File(io.BytesIO(data), filename))

        await self.api_call(upload)

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        """A spoken reply, as an .ogg file Discord clients play inline."""
        await self.send_file(chat_id, "voice.ogg", ogg_opus, caption)

    async def _channel(self, chat_id: str) -> disnake.PartialMessageable:
        """A channel to post in by id, without a lookup: the REST routes are the same for
        every kind of text channel (disnake only wants some type to allow partial messages)."""
        import disnake

        client = await self._login()
        return client.get_partial_messageable(int(chat_id), type=disnake.ChannelType.text)

    async def api_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a REST call, retried with backoff when the connection drops, Discord answers
        5xx, or the client is between two gateway sessions (disnake itself waits out 429s
        and retries 500/502/504 a few times)."""
        import aiohttp
        import disnake

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RuntimeError):  # aiohttp's "Session is closed" while reconnecting
                return "closed" in str(exc)
            transient = (aiohttp.ClientError, OSError, TimeoutError, disnake.DiscordServerError)
            return isinstance(exc, transient)

        def report(exc: BaseException, delay: float, _: int) -> None:
            log.warning("discord: %s; retrying in %.1fs", exc, delay)

        return await retry(
            call,
            attempts=self.settings.retries + 1,
            retry_on=retryable,
            delays=Delays(self.settings.retry_delay),
            on_retry=report,
        )


def create(services: Services | None, settings: DiscordSettings) -> DiscordChannel:
    """The `ChannelType.create` factory."""
    return DiscordChannel(services, settings)
