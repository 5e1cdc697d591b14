"""The gateway: runs the enabled channels under supervision, takes every inbound message through
the pipeline of "The turn" (access, inbound hooks, rate limit, debounce, commands, the
concurrency gate, the streamed agent turn) and serves `/health`, `/status` and `/metrics`.

Channels only carry messages; everything a user sees the same way on every platform (commands,
limits, the streaming reply) happens here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from openclaw.channels import Channel, InboundMessage, MarkupRejected
from openclaw.commands import Command, CommandContext, match_command, run_command
from openclaw.config import ChannelSettings, ConfigError, validate_part
from openclaw.events import BusyRejected, MessageReceived, RateLimited
from openclaw.gateway.cron import CronExecutor
from openclaw.gateway.delivery import (
    GAVE_UP_REPLY,
    RESEND_REPLY,
    RESUMED_NOTE,
    delivery_id,
    group,
    plan,
)
from openclaw.gateway.http import StatusEndpoints, human_duration
from openclaw.gateway.metrics import MetricsSink
from openclaw.gateway.pipeline import PAIRING_FILE, Debouncer, PairingStore, RateLimiter, merge
from openclaw.gateway.streaming import StreamingReply, keep_typing, send_reply
from openclaw.gateway.supervisor import Supervised, supervise
from openclaw.gateway.voice import transcribe_message
from openclaw.lean_import import ASYNCIO_ONLY_EXTRAS, hidden, import_event_loop_backends
from openclaw.messages import ContentPart, Message
from openclaw.principal import Principal
from openclaw.redaction import redact, redact_data

if TYPE_CHECKING:
    from openclaw.kernel import Kernel
    from openclaw.store import Inbound

log = logging.getLogger("openclaw.gateway")

COMMAND_TYPING_DELAY = 1.0
"""A command still running after this many seconds (`/voice`, `/export` of a long session)
shows the typing indicator; quick ones send nothing extra."""
BUSY_REPLY = "I am busy with other conversations right now; please try again in a minute."
FAILED_REPLY = "⚠️ Something went wrong while handling your message ({why}); please try again."
PAIRING_REPLY = (
    "I don't know you yet. Ask my owner to approve you with:\n"
    "openclaw pairing approve {code}\n(the code is valid for {minutes:g} minutes)"
)


class GatewayError(ConfigError):
    """The gateway cannot start as configured (an enabled channel no plugin provides, ...)."""


def principal_of(channel: Channel, message: InboundMessage) -> Principal:
    """Who a message's turn and commands act for: its sender on the channel it came by."""
    return Principal(channel.name, message.user_id, message.channel)


def preload_sdks(
    kernel: Kernel, *, freeze_after: bool = False, models: bool = True, sinks: bool = False
) -> threading.Thread | None:
    """Warm what the first message would otherwise import, in a background thread: with
    `models`, the providers of the configured models (`agent.model` and the fallbacks), their
    vendor SDK imported and client built (about half a second for `openai`); with `sinks`, the
    event sinks that have a `warm` method (the log sink's structlog). A provider without a
    `warm` method, or one that cannot be resolved here, is skipped: it does this on first use.
    The SDKs are imported without trio (`openclaw.lean_import.ASYNCIO_ONLY_EXTRAS`): the
    gateway runs on asyncio. `freeze_after` freezes the heap again once they are in (see
    `freeze_heap`).
    """
    providers: dict[int, Any] = {}
    for ref in (kernel.config.agent.model, *kernel.config.agent.fallbacks) if models else ():
        try:
            provider = kernel.models.resolve(ref)
        except Exception:  # the turn reports a broken provider; here it is only not warmed
            continue
        providers.setdefault(id(provider), provider)
    warmed = [*providers.values(), *(s.value for s in kernel.registry.sinks if sinks)]
    warmers = [w.warm for w in warmed if callable(getattr(w, "warm", None))]
    if not warmers:
        return None

    def run() -> None:
        with hidden(*ASYNCIO_ONLY_EXTRAS):
            for warm in warmers:
                try:
                    warm()
                except Exception:
                    log.warning("warming %r failed; it starts on first use", warm, exc_info=True)
            import_event_loop_backends()
        if freeze_after:  # the SDK's modules too; a collection now would stall turns
            freeze_heap(collect=False)

    thread = threading.Thread(target=run, name="openclaw-sdk-preload", daemon=True)
    thread.start()
    return thread


# objects allocated (less those freed) between two young collections; CPython's default is 700
YOUNG_GENERATION = 5000


def freeze_heap(*, collect: bool) -> None:
    """Move every object alive now (modules, plugins, pydantic schemas: most of the heap) out
    of the garbage collector's reach. A full collection otherwise walks them all again (about
    0.2 s with aiogram loaded) and stalls every turn in flight; `collect` first frees the
    start-up's own garbage so that it is not kept forever.

    Then let the young generation grow to `YOUNG_GENERATION`: the history cache holds tens of
    thousands of messages and each session's first turn replaces hundreds of them. At 700 the
    collector walked each new one in a young pass and again in a middle one (about 0.12 ms a
    cold turn in `benchmarks/store_scale.py`, in lumps of up to 10 ms); at 5,000 most have
    left the cache before a pass comes (about 0.03 ms)."""
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


class Gateway:
    """Runs an App's channels and HTTP endpoints until stopped; it is the channels' `Inbox`.

    `host`/`port` override `gateway.*` (port 0 picks a free one; `port` then holds the bound
    one). `backoff` is the first and the longest delay before a crashed channel is restarted;
    `drain_timeout` bounds the wait for running turns at shutdown; `clock` drives the rate
    limit (tests move it instead of sleeping); `freeze_heap` takes what start-up built out of the
    garbage collector's reach (`openclaw gateway` does; an embedding app owns its own heap).
    """

    def __init__(
        self,
        app: Kernel,
        *,
        host: str | None = None,
        port: int | None = None,
        backoff: tuple[float, float] = (1.0, 60.0),
        drain_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        freeze_heap: bool = False,
    ) -> None:
        limits = app.config.limits
        self.freeze_heap = freeze_heap
        self.app = app
        self.host = host if host is not None else app.config.gateway.host
        self.port = port if port is not None else app.config.gateway.port
        self.backoff = backoff
        self.drain_timeout = drain_timeout
        self.channels: dict[str, Supervised] = {}
        self.metrics = MetricsSink()
        app.bus.add(self.metrics)
        self.pairing = PairingStore(app.config.home / PAIRING_FILE)
        self.limiter = RateLimiter(limits.rate_per_minute, 60.0, clock)
        self.debouncer = Debouncer(limits.debounce_ms / 1000)
        self.turns = asyncio.Semaphore(limits.max_concurrent_turns)
        self.running_turns = 0
        self.ready = asyncio.Event()  # set once channels and the HTTP server are up
        self.accepting = False
        self.started_at = time.time()
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._handling: set[tuple[str, str]] = set()  # (channel, delivery id) handled now
        # one turn at a time per session, so a session's history is never interleaved (a
        # resumed turn and a newer message of the same chat); a lock per session key ever seen
        self._sessions: dict[str, asyncio.Lock] = {}
        self.http = StatusEndpoints(self.status, self.metrics_text, self.samples, self.degraded)
        self.cron = CronExecutor(
            app.services,
            channels=self.channels,
            allowed=lambda user: self.knows(user.channel, user.user_id),
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def build_channels(self) -> None:
        """Create every enabled channel from its validated settings; fails before anything
        starts when an enabled channel is unknown or misconfigured."""
        config = self.app.config
        for name, data in config.channels.items():
            if not ChannelSettings.model_validate(data).enabled:
                continue
            registered = self.app.registry.channels.get(name)
            if registered is None:
                known = ", ".join(sorted(self.app.registry.channels)) or "none"
                raise GatewayError(
                    f"channels.{name} is enabled but no installed plugin provides a {name!r} "
                    f"channel (installed channels: {known}); install its plugin or set "
                    f'"enabled": false'
                )
            kind = registered.value
            where, environ = f"channels.{name}", self.app.services.environ
            settings = validate_part(kind.settings_model, data, where, config.source, environ)
            assert isinstance(settings, ChannelSettings)
            if not settings.allowed_user_ids and not settings.pairing:
                log.warning(
                    "channels.%s: allowed_user_ids is empty and pairing is off, so nobody "
                    "can talk to the agent there",
                    name,
                )
            channel = kind.create(self.app.services, settings)
            self.channels[channel.name] = Supervised(channel, settings)

    async def run(self) -> None:
        """Maintain the store, start channels and the HTTP server, serve until `stop()`, then
        shut down gracefully (drain turns, stop channels, close the App)."""
        try:
            await self.app.startup()
            self.build_channels()  # config errors first, before anything is touched
            store = self.app.store
            from openclaw.store import Transactional, migrate_keys

            migrated = migrate_keys(store) if isinstance(store, Transactional) else 0
            pruned = store.prune(self.app.config.store.prune_days)
            log.info("session maintenance: %d key(s) migrated, %d pruned", migrated, pruned)
            self._log_isolation()
            if self.freeze_heap:
                freeze_heap(collect=True)
            # The SDKs for the first user's message; a gateway without a chat channel (cron
            # and HTTP only) has no user waiting and imports its SDK on its first cron turn.
            preload_sdks(
                self.app, freeze_after=self.freeze_heap, models=bool(self.channels), sinks=True
            )
            self.port = await self.http.start(self.host, self.port)
            self.started_at = time.time()
            self.accepting = True
            unanswered = self._claim_unanswered()
            for name, supervised in self.channels.items():
                supervised.task = asyncio.create_task(self._supervise(name, supervised))
            self._resume(unanswered)
            self.cron.start()
            self.ready.set()
            log.info("gateway listening on http://%s:%d", self.host, self.port)
            await self._stop.wait()
        finally:
            await self._shutdown()
            self._done.set()

    def _log_isolation(self) -> None:
        """Say once at start-up how commands are confined (a warning when they are not)."""
        isolated, line = self.app.services.sandbox.describe_isolation()
        (log.info if isolated else log.warning)("sandbox: %s", line)

    def request_stop(self) -> None:
        """Ask `run` to shut down (safe from a signal handler)."""
        self._stop.set()

    async def stop(self) -> None:
        """Shut down and wait until `run` has finished."""
        self.request_stop()
        await self._done.wait()

    async def _shutdown(self) -> None:
        self.accepting = False
        self.ready.clear()
        await self.cron.stop(self.drain_timeout)
        if self._inflight:
            log.info("draining %d running message(s)", len(self._inflight))
            _, pending = await asyncio.wait(set(self._inflight), timeout=self.drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("cancelled %d turn(s) still running after the drain", len(pending))
                await asyncio.wait(pending, timeout=5)
        for supervised in self.channels.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(supervised.channel.stop(), 10)
            if supervised.task is not None:
                try:
                    await asyncio.wait_for(supervised.task, 10)
                except (Exception, asyncio.CancelledError):
                    log.warning("channel %s did not stop cleanly", supervised.channel.name)
        await self.http.stop()
        await self.app.shutdown()

    async def _supervise(self, name: str, supervised: Supervised) -> None:
        await supervise(name, supervised, self, self._stop, self.backoff)

    # -- the pipeline -------------------------------------------------------------------------

    async def deliver(self, channel: Channel, message: InboundMessage) -> None:
        """Take one inbound message through the pipeline; returns when it is answered (or
        batched into another message's turn, or refused). Never raises."""
        if not self.accepting:
            # a recorded message stays unanswered in the store: resumed at the next start
            log.info("not accepting messages (shutting down); left one from %s", channel.name)
            return
        delivery = self._accept(channel, message)
        if delivery is False:
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        done = True
        try:
            done = await self._handle(channel, message)
        except Exception as exc:
            self.metrics.errors.labels(message.channel).inc()
            log.exception("handling a message on %s failed", channel.name)
            await self._tell_failure(channel, message, exc)
        finally:
            if task is not None:
                self._inflight.discard(task)
            if delivery:
                self._handling.discard(delivery)
        if isinstance(delivery, tuple) and done:
            self._finish(channel.name, [delivery[1]])

    # -- delivery (see openclaw.gateway.delivery) -----------------------------------------

    def record(self, channel: Channel, chat_id: str, message_id: str, payload: str = "") -> bool:
        """Store a platform message durably before the channel confirms it to the platform;
        `payload` is what `channel.redeliver` needs to hand it over again after a crash. False
        when it was recorded before (a redelivery): the channel drops it."""
        key = delivery_id(chat_id, message_id)
        if self.app.store.record_inbound(channel.name, key, chat_id, message_id, payload):
            return True
        self._duplicate(channel.name, channel.prefix, key)
        return False

    def skipped(self, channel: Channel) -> None:
        """Count a platform update the channel could not read and skipped (the channel logs
        it, without its content)."""
        supervised = self.channels.get(channel.name)
        if supervised is not None:
            supervised.skipped += 1
        self.metrics.updates_skipped.labels(channel.prefix).inc()

    def _duplicate(self, name: str, prefix: str, key: str) -> None:
        self.metrics.duplicates.labels(prefix).inc()
        log.info("%s: message %s was delivered again; already handled, dropped", name, key)

    def _accept(self, channel: Channel, message: InboundMessage) -> tuple[str, str] | bool | None:
        """The message's delivery key, recorded now if its channel did not; False for a message
        already answered or being handled; None for one without a platform id."""
        if message.message_id is None:
            return None
        key = (channel.name, delivery_id(message.chat_id, message.message_id))
        record = self.app.store.inbound(*key)
        if key in self._handling or (record is not None and record.state == "finished"):
            self._duplicate(channel.name, message.channel, key[1])
            return False
        if record is None:
            self.app.store.record_inbound(*key, message.chat_id, message.message_id)
        self._handling.add(key)
        return key

    def _finish(self, channel: str, keys: list[str]) -> None:
        try:
            self.app.store.finish_inbound(channel, keys)
        except Exception:
            log.exception("marking %d message(s) on %s answered failed", len(keys), channel)

    async def _tell_failure(
        self, channel: Channel, message: InboundMessage, exc: Exception
    ) -> None:
        """Always an answer: a known user whose message failed is told so, briefly."""
        if not self.knows(channel.name, message.user_id):
            return
        why = type(exc).__name__
        with contextlib.suppress(Exception):
            await send_reply(
                channel, message.chat_id, FAILED_REPLY.format(why=why), reply_to=message.message_id
            )

    def _claim_unanswered(self) -> list[Inbound]:
        """The messages a previous run recorded but did not answer, held as being handled so
        that a redelivery of one is dropped."""
        records = self.app.store.claim_unanswered()
        for record in records:
            self._handling.add((record.channel, record.delivery_id))
        if records:
            log.info("resuming %d message(s) a previous run did not answer", len(records))
        return records

    def _resume(self, records: list[Inbound]) -> None:
        """Answer the claimed messages, in the order they came; those of one session one after
        the other (each in a task of its own, so start-up does not wait)."""
        by_session: dict[str, list[list[Inbound]]] = {}
        for batch in group(records):
            first = batch[0]
            by_session.setdefault(first.session_key or first.delivery_id, []).append(batch)
        for batches in by_session.values():
            task = asyncio.create_task(self._resume_batches(batches))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _resume_batches(self, batches: list[list[Inbound]]) -> None:
        for records in batches:
            keys = [(r.channel, r.delivery_id) for r in records]
            try:
                await self._resume_one(records)
            except Exception:
                log.exception("resuming %d message(s) failed", len(records))
            finally:
                self._handling.difference_update(keys)

    async def _resume_one(self, records: list[Inbound]) -> None:
        """Resume one turn's messages; the session is held while its history is read and the
        turn continued, so no newer message of the chat slips in between."""
        first = records[0]
        supervised = self.channels.get(first.channel)
        if supervised is None:
            log.warning("channel %s is not enabled: its unanswered messages wait", first.channel)
            return
        if first.state == "started" and first.session_key is not None:
            async with self._sessions.setdefault(first.session_key, asyncio.Lock()):
                history = self.app.store.history(first.session_key)
                await self._resume_as_planned(supervised.channel, records, history)
        else:
            await self._resume_as_planned(supervised.channel, records, None)

    async def _resume_as_planned(
        self, channel: Channel, records: list[Inbound], history: list[Message] | None
    ) -> None:
        first = records[0]
        resumption = plan(records, history)
        self.metrics.resumed.labels(channel.prefix, resumption.action).inc()
        last = resumption.last
        keys = [r.delivery_id for r in records]
        if resumption.action == "give_up":
            text = GAVE_UP_REPLY.format(n=max(r.restarts for r in records))
            await send_reply(channel, last.chat_id, text, reply_to=last.message_id)
        elif resumption.action == "resend":
            await self._resend(channel, last, resumption.text)
        elif resumption.action == "continue":
            await send_reply(channel, last.chat_id, RESUMED_NOTE, reply_to=last.message_id)
            assert first.session_key is not None
            # the session key is `{prefix}:{agent}:{user}:{chat}`: the turn acts for that user
            user_id = first.session_key.split(":")[2]
            principal = Principal(channel.name, user_id, channel.prefix)
            await self._run_turn(
                channel,
                last.chat_id,
                last.message_id,
                first.session_key,
                None,
                principal,
                resumed=keys,
                locked=True,
            )
        else:
            redeliver = getattr(channel, "redeliver", None)
            for record in records:
                self._handling.discard((record.channel, record.delivery_id))
                if redeliver is not None and record.payload:
                    await redeliver(self, record.payload)
                    keys.remove(record.delivery_id)
                else:
                    await send_reply(
                        channel, record.chat_id, RESEND_REPLY, reply_to=record.message_id
                    )
        self._finish(channel.name, keys)

    async def _resend(self, channel: Channel, record: Inbound, answer: str) -> None:
        """A stored answer whose showing was cut: its first message is edited to the whole
        answer when that fits (idempotent: the user sees it once, even if the cut came after the
        last edit), else it is sent again under the restart note."""
        if record.reply_id is not None and len(answer) <= channel.max_len:
            for markdown in (True, False):
                try:
                    await channel.edit_text(
                        record.chat_id, record.reply_id, answer, markdown=markdown
                    )
                    return
                except MarkupRejected:
                    continue
                except Exception:
                    log.warning("editing the cut answer failed; sending it again", exc_info=True)
                    break
        text = f"{RESUMED_NOTE}\n\n{answer}"
        await send_reply(channel, record.chat_id, text, reply_to=record.message_id)

    async def _handle(self, channel: Channel, message: InboundMessage) -> bool:
        """The pipeline; False when the message joined another one's batch (that message's
        turn answers both)."""
        bus = self.app.bus
        key = message.session_key(self.app.config.agent.name)
        await bus.emit(MessageReceived(key, channel=message.channel, user_id=message.user_id))
        if not await self._admit(channel, message):
            return True
        if message.problem:
            text = f"⚠️ {message.problem}"
            await send_reply(channel, message.chat_id, text, reply_to=message.message_id)
            return True
        claimed = self.app.inbound(message)
        if isinstance(claimed, str):
            await send_reply(channel, message.chat_id, claimed, reply_to=message.message_id)
            return True
        message = claimed
        retry = self.limiter.check((channel.name, message.user_id))
        if retry is not None:
            await bus.emit(
                RateLimited(
                    key, channel=message.channel, user_id=message.user_id, retry_after=retry
                )
            )
            text = f"You are sending messages too fast; please try again in {retry:.0f} s."
            await send_reply(channel, message.chat_id, text, reply_to=message.message_id)
            return True
        if not message.text.strip() and any(a.kind == "audio" for a in message.attachments):
            transcribed = await transcribe_message(self.app.models, channel, message)
            if transcribed is None:
                return True
            message = transcribed
        if await self._command(channel, message, key):
            return True
        batch = await self.debouncer.submit(
            (channel.name, message.user_id, message.chat_id), message
        )
        if batch is None:
            return False
        keys = [delivery_id(m.chat_id, m.message_id) for m in batch if m.message_id is not None]
        try:
            await self._turn(channel, merge(batch), key, keys)
        except Exception:
            self._finish(channel.name, keys)
            raise
        self._finish(channel.name, keys)
        return True

    def commands(self) -> dict[str, Command]:
        """The App's slash commands (Discord lists them as application commands)."""
        return self.app.registry.command_map()

    def knows(self, channel: str, user_id: str) -> bool:
        """Whether `user_id` may talk on `channel` (listed or paired). Channels ask this before
        they download a message's files, so that a stranger's uploads cost nothing."""
        supervised = self.channels.get(channel)
        if supervised is not None and user_id in supervised.allowed:
            return True
        return self.pairing.is_approved(channel, user_id)

    async def _admit(self, channel: Channel, message: InboundMessage) -> bool:
        """Listed and paired users pass; with pairing on, a stranger is given a code once, in
        a private chat only (a group would read it), while the channel's pending codes are
        under their cap."""
        user = message.user_id
        if self.knows(channel.name, user):
            return True
        supervised = self.channels.get(channel.name)
        settings = supervised.settings if supervised else ChannelSettings()
        if settings.pairing and not message.is_private():
            log.info("no pairing code for %s user %s outside a private chat", channel.name, user)
        elif settings.pairing:
            ttl, cap = settings.pairing_code_ttl, settings.pairing_max_pending
            code, new = self.pairing.request(
                channel.name, user, message.chat_id, ttl=ttl, max_pending=cap
            )
            if code is None:
                log.warning(
                    "no pairing code for %s user %s: %d codes are pending, the limit",
                    channel.name,
                    user,
                    cap,
                )
            elif new:
                log.info("pairing code %s issued to %s user %s", code, channel.name, user)
                reply = PAIRING_REPLY.format(code=code, minutes=ttl / 60)
                await send_reply(channel, message.chat_id, reply)
        else:
            log.info("ignored a message from unknown %s user %s", channel.name, user)
        return False

    async def _command(self, channel: Channel, message: InboundMessage, key: str) -> bool:
        """Answer a known slash command (not debounced); unknown ones go to the agent."""
        commands = self.app.registry.command_map()
        if match_command(commands, message.text) is None:
            return False
        context = CommandContext(
            self.app.services,
            key,
            channel=message.channel,
            user_id=message.user_id,
            chat_id=message.chat_id,
            principal=principal_of(channel, message),
        )
        typing = asyncio.create_task(
            keep_typing(channel, message.chat_id, delay=COMMAND_TYPING_DELAY)
        )
        try:
            reply = await run_command(commands, message.text, context)
        finally:
            typing.cancel()
        assert reply is not None
        await send_reply(channel, message.chat_id, reply, reply_to=message.message_id)
        return True

    async def _turn(
        self, channel: Channel, message: InboundMessage, key: str, deliveries: list[str]
    ) -> None:
        if self.turns.locked():
            await self.app.bus.emit(
                BusyRejected(key, channel=message.channel, user_id=message.user_id)
            )
            await send_reply(channel, message.chat_id, BUSY_REPLY, reply_to=message.message_id)
            return
        principal = principal_of(channel, message)
        await self._run_turn(
            channel,
            message.chat_id,
            message.message_id,
            key,
            message.content(),
            principal,
            deliveries,
        )

    async def _run_turn(
        self,
        channel: Channel,
        chat_id: str,
        reply_to: str | None,
        key: str,
        content: str | list[ContentPart] | None,
        principal: Principal,
        deliveries: Sequence[str] = (),
        resumed: Sequence[str] = (),
        locked: bool = False,
    ) -> None:
        """One streamed turn in a turn slot; `content` None continues the stored session. The
        `deliveries` it answers are marked started with where the session stood, in the write
        that stores the user message, so a restart knows what this turn had done (`resumed`:
        those of a continued turn, already started); both keep the id of the reply's first
        message. `locked`: the caller holds the session already."""
        session = (
            contextlib.nullcontext() if locked else self._sessions.setdefault(key, asyncio.Lock())
        )
        async with session, self.turns:
            self.running_turns += 1
            try:
                if deliveries:  # where the session stands now, and its user message stored
                    stored = None if content is None else Message(role="user", content=content)
                    self.app.store.start_inbound(
                        channel.name, list(deliveries), key, message=stored
                    )
                    content = None  # the turn goes on from the stored session
                turns = self.app.services.turns
                events = turns.run_turn(content, session_key=key, principal=principal)
                keys = list(deliveries or resumed)

                def noted(reply_id: str) -> None:
                    if keys:
                        self.app.store.note_reply(channel.name, keys, reply_id)

                reply = StreamingReply(channel, chat_id, reply_to=reply_to, on_first_message=noted)
                await reply.consume(events)
            finally:
                self.running_turns -= 1

    # -- HTTP ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What `/status` shows: no secrets (the config goes through `public_dict`, and a
        channel's last error through `redact`)."""
        self._scrape()
        app_status = self.app.status()
        uptime = time.time() - self.started_at
        stats = self.app.store.stats()
        return redact_data(
            {
                **app_status,
                "uptime": {"seconds": round(uptime, 1), "human": human_duration(uptime)},
                "sessions": {
                    "total": stats.sessions,
                    "messages": stats.messages,
                    "by_channel": stats.by_channel,
                },
                "channel_types": app_status["channels"],
                "channels": {
                    name: {
                        "state": s.channel.state,
                        "restarts": s.restarts,
                        "last_error": s.last_error,
                        "skipped": s.skipped,
                    }
                    for name, s in self.channels.items()
                },
                "unanswered": self.app.store.unanswered_count(),
                "limits": self.app.config.limits.model_dump(),
                "turns_running": self.running_turns,
                "cron": self.cron.status(),
                "metrics": self.metrics.summary(),
            }
        )

    def metrics_text(self) -> bytes:
        """What `/metrics` shows: the Prometheus text format, redacted."""
        self._scrape()
        return redact(self.metrics.exposition().decode()).encode()

    def _scrape(self) -> None:
        """Bring the channel-state gauge up to date before metrics are read."""
        for name, supervised in self.channels.items():
            self.metrics.set_channel_state(name, supervised.channel.state)

    def samples(self) -> dict[str, list[dict[str, Any]]]:
        """What `/metrics/json` shows."""
        self._scrape()
        return self.metrics.samples()

    def degraded(self) -> dict[str, str]:
        """Channels that are failing or retrying (a stuck channel must not look healthy)."""
        return {
            name: s.channel.state
            for name, s in self.channels.items()
            if s.channel.state.startswith(("degraded", "failed"))
        }
