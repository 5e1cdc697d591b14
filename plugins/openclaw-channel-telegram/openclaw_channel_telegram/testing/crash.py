"""Kill the gateway with SIGKILL mid-turn, again and again, while several users send, and count
what they got: the check that delivery survives crashes (a test runs it small, the benchmark
`benchmarks/crash_recovery.py` large).

A real `openclaw gateway` subprocess polls a `FakeBotAPI`; a streaming `FakeOpenAIServer` answers
every message with a tool round (a call to a tool that does not exist, so every turn stores a
call and its result) and then `echo: <the user's text>`, slowly enough that kills land mid-turn.
Each user sends their next message once the previous one is answered (or after a while). At the
end every request the model was sent is checked for a broken conversation and the database
with `PRAGMA integrity_check`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.delivery_texts import GAVE_UP_REPLY, RESUMED_NOTE
from openclaw.testing.servers import (
    FakeOpenAIServer,
    Reply,
    last_user_text,
    openai_sequence_problem,
)
from openclaw_channel_telegram.testing.bot_api import FakeBotAPI, SentMessage

FOOTER = "round(s)"
"""Every finished streamed answer ends with the stats footer, which contains this."""
GAVE_UP = GAVE_UP_REPLY.split(",", 1)[0]


def malformed(body: dict[str, Any]) -> list[str]:
    """What is wrong with one chat-completions request as a conversation: a tool call without
    its result or a result without its call (what OpenAI refuses with a 400), or a request that
    does not end with the user's message or tool results. Empty when it is well formed."""
    messages = body.get("messages", [])
    problems = [problem] if (problem := openai_sequence_problem(messages)) else []
    if messages and messages[-1].get("role") not in ("user", "tool"):
        problems.append(f"the last message is a {messages[-1].get('role')} message")
    return problems


def tool_then_echo(body: dict[str, Any]) -> Reply:
    """The model's script: a tool round first, then `echo: <last user text>` streamed."""
    last = body["messages"][-1]
    if last.get("role") == "user":
        return Reply("Let me look.", tool_calls=[("lookup", '{"q": "x"}')])
    return Reply(f"echo: {last_user_text(body)}", chunks=10)


@dataclass
class CrashReport:
    sent: int = 0
    answered: int = 0  # exactly one final answer (or a give-up apology)
    duplicates: int = 0  # messages with more than one final answer
    lost: int = 0  # messages with no final answer
    gave_up: int = 0
    resumed_notes: int = 0
    malformed: int = 0  # requests to the model that were not a valid conversation
    kills: int = 0
    integrity: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"sent={self.sent} answered={self.answered} duplicates={self.duplicates} "
            f"lost={self.lost} gave_up={self.gave_up} malformed={self.malformed} "
            f"kills={self.kills} integrity={self.integrity} seconds={self.seconds:.1f}"
        )


class CrashRun:
    """`users` users each send `messages` messages; the gateway is killed `kills` times, each
    time `gap` (a random number of seconds in that range) after it came up, as soon as a turn
    asks the model."""

    def __init__(
        self,
        home: Path,
        *,
        users: int = 3,
        messages: int = 4,
        kills: int = 4,
        delay: float = 0.03,
        answer_wait: float = 20.0,
        settle: float = 20.0,
        gap: tuple[float, float] = (1.0, 2.5),
        seed: int = 16,
        pythonpath: str = "",
    ) -> None:
        self.home = home
        self.users = [1000 + n for n in range(users)]
        self.per_user = messages
        self.kills = kills
        self.delay = delay
        self.answer_wait = answer_wait
        self.settle = settle
        self.gap = gap
        self.pythonpath = pythonpath
        self.random = random.Random(seed)
        self.process: subprocess.Popen[str] | None = None
        self.logs: list[str] = []

    def run(self, timeout: float = 300.0) -> CrashReport:
        report = CrashReport()
        began = time.monotonic()
        # a killed gateway leaves the model's stream half-written: not worth a traceback
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
        with (
            FakeBotAPI(max_poll_wait=0.5) as api,
            FakeOpenAIServer(default=tool_then_echo, delay=self.delay) as model,
        ):
            self._configure(api, model)
            sent: dict[int, list[tuple[int, str]]] = {user: [] for user in self.users}
            waiting_since: dict[int, float] = {}
            self._start()
            kill_after: float | None = None
            seen_requests = 0
            deadline = began + timeout
            settle_by: float | None = None
            while time.monotonic() < deadline:
                now = time.monotonic()
                for user in self.users:
                    mine = sent[user]
                    done = not mine or self._final(api, user, mine[-1])
                    stale = now - waiting_since.get(user, now) > self.answer_wait
                    if len(mine) < self.per_user and (done or stale):
                        text = f"u{user} m{len(mine)}"
                        message_id = api.user_sends(user, user, text)
                        mine.append((message_id, text))
                        waiting_since[user] = now
                all_sent = all(len(mine) == self.per_user for mine in sent.values())
                finished = all(self._final(api, u, m) for u in self.users for m in sent[u])
                if all_sent and finished:
                    break
                if all_sent:  # the rest get `settle` seconds to be answered
                    settle_by = settle_by or now + self.settle
                    deadline = min(deadline, settle_by)
                fresh = len(model.requests) > seen_requests
                seen_requests = len(model.requests)
                if kill_after is None and self._ready():
                    kill_after = time.monotonic() + self._gap()
                due = kill_after is not None and now >= kill_after
                if report.kills < self.kills and due and fresh:
                    time.sleep(self.random.uniform(0.0, 0.15))  # somewhere inside the stream
                    self._kill()
                    report.kills += 1
                    self._start()
                    kill_after = None
                time.sleep(0.02)
            self._stop()
            report.seconds = time.monotonic() - began
            self._count(report, api, model, sent)
        report.integrity = integrity(self.home / "sessions.db")
        return report

    # -- the gateway process ---------------------------------------------------------------

    def _configure(self, api: FakeBotAPI, model: FakeOpenAIServer) -> None:
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": model.base_url}},
            "channels": {
                "telegram": {
                    "enabled": True,
                    "token": {"$env": "TELEGRAM_BOT_TOKEN"},
                    "api_base": api.base_url,
                    "allowed_user_ids": self.users,
                    "poll_timeout": 1,
                    "retry_delay": 0.05,
                }
            },
            "limits": {"debounce_ms": 0, "rate_per_minute": 1000, "max_concurrent_turns": 50},
        }
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "openclaw.json").write_text(json.dumps(config))
        self.env = {
            **os.environ,
            "OPENCLAW_HOME": str(self.home),
            "OPENAI_API_KEY": "sk-test",
            "OPENCLAW_LOAD_PLUGINS": "telegram",
            "TELEGRAM_BOT_TOKEN": api.token,
        }
        if self.pythonpath:  # run another checkout's gateway (the benchmark's `--against`)
            self.env["PYTHONPATH"] = self.pythonpath

    def _start(self) -> None:
        log = open(self.home / f"gateway-{len(self.logs)}.log", "w")  # noqa: SIM115
        self.logs.append(log.name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openclaw.cli", "gateway", "--port", "0"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()

    def _kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def _stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def _ready(self) -> bool:
        """Whether the gateway started last is up (it says so in its log)."""
        return "openclaw gateway on http" in Path(self.logs[-1]).read_text(errors="replace")

    def _gap(self) -> float:
        """Time after start-up before the next kill (room for the resumed turns)."""
        return self.random.uniform(*self.gap)

    # -- what the users saw ----------------------------------------------------------------

    @staticmethod
    def _answers(api: FakeBotAPI, user: int, message_id: int, text: str) -> list[SentMessage]:
        """The final answers to one message: a streamed one ends with its footer; one resent
        after a restart is the stored answer alone (an edit of the cut reply) or follows the
        restart note; a message given up gets the apology."""
        return [
            m
            for m in api.messages(user)
            if m.reply_to == message_id
            and (
                FOOTER in m.text
                or GAVE_UP in m.text
                or m.text.startswith(f"{RESUMED_NOTE}\n")
                or m.text == f"echo: {text}"
            )
        ]

    def _final(self, api: FakeBotAPI, user: int, message: tuple[int, str]) -> bool:
        return bool(self._answers(api, user, *message))

    def _count(
        self,
        report: CrashReport,
        api: FakeBotAPI,
        model: FakeOpenAIServer,
        sent: dict[int, list[tuple[int, str]]],
    ) -> None:
        for user, mine in sent.items():
            for message_id, text in mine:
                report.sent += 1
                answers = self._answers(api, user, message_id, text)
                if not answers:
                    report.lost += 1
                    report.problems.append(f"{text}: no answer")
                    continue
                report.answered += 1
                if len(answers) > 1:
                    report.duplicates += 1
                    report.problems.append(f"{text}: {len(answers)} answers")
                if any(GAVE_UP in a.text for a in answers):
                    report.gave_up += 1
            report.resumed_notes += sum(RESUMED_NOTE in m.text for m in api.messages(user))
        for index, body in enumerate(model.requests):
            problems = malformed(body)
            if problems:
                report.malformed += 1
                report.problems.append(f"request {index}: {'; '.join(problems)}")


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check` of a SQLite file: "ok" when it is intact."""
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()
