"""Shell tools: `exec` runs a command to completion, `process` runs commands in the background.

Both go through the sandbox policy (blocklist, path allowlist for the working directory, OS
isolation: bubblewrap, else Landlock). Background processes live in a per-App table with a cap
on how many run at once; their output is kept in ring buffers, and the App's shutdown kills and
reaps them. Each process belongs to the user whose turn started it: a chat user's agent lists,
polls and kills only that user's processes; the owner's sees all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from openclaw.principal import OWNER, Principal
from openclaw.sandbox import SpawnedProcess, end_process
from openclaw.tools import Tool, ToolCallContext, ToolError, tool

if TYPE_CHECKING:
    from openclaw.sandbox import ProcessResult, SandboxPolicy
    from openclaw.tools import ToolContext

TOOL_MARGIN = 5.0  # the tool's own timeout leaves the command's timeout room to report first
MAX_RUNNING = 8
MAX_KEPT = 32  # finished processes stay pollable until this many are kept
BUFFER_BYTES = 64_000
START_SETTLE = 0.3  # seconds `start` waits, so a command that fails at once says so
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
DRAIN_WAIT = 1.0  # seconds to read what is left in the pipes after the exit
MAX_POLL_WAIT = 60.0


class ExecArguments(BaseModel):
    command: str = Field(min_length=1, description="Shell command, run with sh -c.")
    cwd: str = Field(".", description="Working directory, relative to the workspace.")
    timeout: float | None = Field(
        None,
        gt=0,
        description="Seconds before the command is killed (at most the sandbox's exec_timeout, "
        "which is also the default).",
    )


class ProcessArguments(BaseModel):
    model_config = ConfigDict(validate_default=True)

    action: Literal["start", "poll", "kill", "list"] = Field(
        description="start a command; poll one for new output and status; kill one; list this "
        "user's processes."
    )
    command: str | None = Field(None, description="For start: the shell command (sh -c).")
    cwd: str = Field(".", description="For start: working directory, relative to the workspace.")
    id: str | None = Field(None, description="For poll and kill: the process id, e.g. p1.")
    wait: float = Field(
        0,
        ge=0,
        le=MAX_POLL_WAIT,
        description="For poll: seconds to wait for the process to exit first.",
    )

    @field_validator("command")
    @classmethod
    def _command_to_start(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("action") == "start" and not (value and value.strip()):
            raise ValueError("required to start a process")
        return value

    @field_validator("id")
    @classmethod
    def _id_to_poll_or_kill(cls, value: str | None, info: ValidationInfo) -> str | None:
        action = info.data.get("action")
        if action in ("poll", "kill") and not value:
            raise ValueError(f"required to {action} a process (see action=list)")
        return value


def describe_exit(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"


def exec_report(result: ProcessResult, timeout: float) -> str:
    status = (
        f"timed out after {timeout:g}s and was killed"
        if result.timed_out
        else describe_exit(result.exit_code)
    )
    parts = [status]
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            parts.append(f"--- {name} ---\n{text.rstrip()}")
    if not (result.stdout or result.stderr):
        parts.append("(no output)")
    if result.truncated:
        parts.append("(output was cut to fit the cap)")
    return "\n".join(parts)


class OutputBuffer:
    """The last `limit` bytes of a process's output, addressed by absolute offsets so a reader
    gets what is new since its last read and learns how much it missed."""

    def __init__(self, limit: int = BUFFER_BYTES) -> None:
        self.limit = limit
        self.data = bytearray()
        self.start = 0  # absolute offset of data[0]

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def write(self, chunk: bytes) -> None:
        self.data += chunk
        excess = len(self.data) - self.limit
        if excess > 0:
            del self.data[:excess]
            self.start += excess

    def read_from(self, offset: int) -> tuple[str, int]:
        """The text after `offset` and the number of bytes dropped before it."""
        dropped = max(0, self.start - offset)
        text = self.data[max(offset, self.start) - self.start :].decode("utf-8", "replace")
        return text, dropped


@dataclass(eq=False)
class Job:
    id: str
    command: str
    process: SpawnedProcess
    owner: Principal = OWNER
    started: float = field(default_factory=time.monotonic)
    output: OutputBuffer = field(default_factory=OutputBuffer)
    cursor: int = 0  # how far poll has read
    ended: float | None = None
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    waiter: asyncio.Task[None] | None = None  # reaps the process and marks the end

    async def wait(self, timeout: float | None) -> None:
        """Wait up to `timeout` seconds for the process to end (and its output to drain)."""
        assert self.waiter is not None
        await asyncio.wait([self.waiter], timeout=timeout)

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def status(self) -> str:
        elapsed = (self.ended or time.monotonic()) - self.started
        return f"{describe_exit(self.process.returncode)}, {elapsed:.1f}s"


class ProcessTable:
    """One App's background processes, killed and reaped when that App shuts down."""

    def __init__(self, policy: SandboxPolicy) -> None:
        self.policy = policy
        self.jobs: dict[str, Job] = {}
        self.ids = (f"p{n}" for n in itertools.count(1))

    def running(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.running]

    def visible(self, principal: Principal) -> list[Job]:
        """The processes `principal` may see: all for the owner, else the user's own."""
        return [
            job
            for job in self.jobs.values()
            if principal.is_owner or job.owner.same_user(principal)
        ]

    def get(self, job_id: str, principal: Principal = OWNER) -> Job:
        job = self.jobs.get(job_id.strip())
        if job is None or job not in self.visible(principal):
            known = ", ".join(job.id for job in self.visible(principal)) or "none"
            raise ToolError(f"no background process {job_id!r} (known: {known}).")
        return job

    async def start(self, command: str, cwd: str, principal: Principal = OWNER) -> str:
        running = self.running()
        if len(running) >= MAX_RUNNING:
            ids = ", ".join(job.id for job in running if job in self.visible(principal))
            raise ToolError(
                f"{MAX_RUNNING} background processes are running, the limit; kill one first "
                f"(yours: {ids or 'none'})."
            )
        process = await self.policy.spawn(command, cwd=Path(cwd))
        job = Job(next(self.ids), command, process, principal)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                job.readers.append(asyncio.create_task(self._pump(stream, job)))
        job.waiter = asyncio.create_task(self._reap(job))
        self.jobs[job.id] = job
        self._forget_old()
        await job.wait(START_SETTLE)
        if job.running:
            return f"started {job.id} (pid {process.pid}): {command}"
        return self._poll(job)

    async def poll(self, job_id: str, wait: float, principal: Principal = OWNER) -> str:
        job = self.get(job_id, principal)
        if wait:
            await job.wait(wait)
        return self._poll(job)

    async def kill(self, job_id: str, principal: Principal = OWNER) -> str:
        job = self.get(job_id, principal)
        if not job.running:
            return f"{job.id} had already ended ({job.status()})."
        await self._terminate(job)
        return f"killed {job.id} ({job.status()})\n{self._poll(job)}"

    def listing(self, principal: Principal = OWNER) -> str:
        jobs = self.visible(principal)
        if not jobs:
            return "no background processes."
        return "\n".join(f"{job.id}  {job.status()}  {job.command}" for job in jobs)

    async def close(self) -> None:
        """Kill and reap every process still running (the App is shutting down)."""
        await asyncio.gather(*(self._terminate(job) for job in self.running()))
        for job in self.jobs.values():
            for task in (*job.readers, job.waiter):
                if task is not None:
                    task.cancel()
        self.jobs.clear()

    def _poll(self, job: Job) -> str:
        text, dropped = job.output.read_from(job.cursor)
        job.cursor = job.output.end
        lines = [f"{job.id} {job.status()}: {job.command}"]
        if dropped:
            lines.append(f"[... {dropped} bytes of earlier output dropped ...]")
        lines.append(text.rstrip() if text.strip() else "(no new output)")
        return "\n".join(lines)

    async def _pump(self, stream: asyncio.StreamReader, job: Job) -> None:
        while chunk := await stream.read(4096):
            job.output.write(chunk)

    async def _reap(self, job: Job) -> None:
        await asyncio.shield(job.process.exited)  # the process itself, not its pipes
        job.ended = time.monotonic()
        # what the command left running in its group goes with it, as with exec; output still
        # in the pipes gets DRAIN_WAIT, then they are closed whoever holds them
        await end_process(job.process, DRAIN_WAIT)
        if job.readers:
            await asyncio.wait(job.readers, timeout=DRAIN_WAIT)

    async def _terminate(self, job: Job) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period, and reap."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.process.pid, signal.SIGTERM)
        await job.wait(KILL_GRACE)
        if job.running:
            await end_process(job.process, DRAIN_WAIT)
        await job.wait(None)  # _reap: bounded once the process has exited

    def _forget_old(self) -> None:
        ended = [job for job in self.jobs.values() if not job.running]
        for job in ended[: max(0, len(self.jobs) - MAX_KEPT)]:
            del self.jobs[job.id]


def make_tools(policy: SandboxPolicy, context: ToolContext) -> list[Tool]:
    max_timeout = policy.clamp_timeout(None)
    table = ProcessTable(policy)
    context.services.on_shutdown(table.close)

    @tool(name="exec", arguments=ExecArguments, timeout=max_timeout + TOOL_MARGIN)
    async def exec_command(command: str, cwd: str, timeout: float | None) -> str:
        """Run a shell command in the workspace and return its exit code, stdout and stderr.
        For servers and other long-running commands use process (action=start)."""
        limit = policy.clamp_timeout(timeout)
        result = await policy.run(command, cwd=Path(cwd), timeout=limit)
        report = exec_report(result, limit)
        if result.timed_out or result.exit_code != 0:
            raise ToolError(report)
        return report

    @tool(arguments=ProcessArguments, timeout=MAX_POLL_WAIT + KILL_GRACE + TOOL_MARGIN)
    async def process(
        action: Literal["start", "poll", "kill", "list"],
        command: str | None,
        cwd: str,
        id: str | None,
        wait: float,
        context: ToolCallContext,
    ) -> str:
        """Run shell commands in the background (servers, watchers, long builds): start returns
        an id; poll shows new output and status (optionally waiting for the exit); kill stops
        it; list shows this user's. Every process is killed when openclaw shuts down."""
        user = context.principal
        if action == "start":
            assert command is not None  # the arguments model requires it
            return await table.start(command, cwd, user)
        if action == "list":
            return table.listing(user)
        assert id is not None  # the arguments model requires it
        if action == "poll":
            return await table.poll(id, wait, user)
        return await table.kill(id, user)

    return [exec_command, process]
