"""Running commands: the environment they get, the bubblewrap argv that isolates them, starting
them in their own process group, and running them to the end with output read as it comes and
capped, the whole process group killed when they end or time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from openclaw.sandbox.paths import resolve, roots

Isolation = Literal["bubblewrap", "none"]


@dataclass(slots=True)
class ProcessResult:
    """How a sandboxed command ended. Output is decoded text, capped with a marker.

    `exit_code` is None when the command was killed at its timeout (`timed_out`); a negative
    code is the signal that ended it.
    """

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    isolation: Isolation = "none"


_SECRET_ENV = re.compile(
    r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH|COOKIE|SESSION)"
    r"(_|$)",
    re.IGNORECASE,
)
_AFTER_EXIT_GRACE = 0.5  # seconds for buffered output once the main process has exited


def kill_process_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the whole process group of a process started by `spawn` (its children too)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class _CappedOutput(asyncio.Protocol):
    """Keeps the first 75% and the last 25% of `limit` bytes of a pipe, counting the rest."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit * 3 // 4
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_limit:
            self.tail += data[-self.tail_limit :]
            del self.tail[: -self.tail_limit]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.truncated:
            return (self.head + self.tail).decode("utf-8", errors="replace")
        dropped = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n\n[... {dropped} bytes truncated ...]\n\n{tail}"


async def _feed(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write stdin and close it, whether the command reads it all or not."""
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def secret_env_names(data: Any) -> set[str]:
    """Every `{"$env": NAME}` in the config: those variables are never passed to commands."""
    if isinstance(data, dict):
        if set(data) == {"$env"} and isinstance(data["$env"], str):
            return {data["$env"]}
        return set().union(*(secret_env_names(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(secret_env_names(value) for value in data))
    return set()


def environment(secret_env: Collection[str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """The environment minus anything that looks like a secret (or is named in `secret_env`),
    plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in secret_env and not _SECRET_ENV.search(name)
    }
    env.update(extra or {})
    return env


def _exposed_tool_dirs(hidden: Sequence[Path]) -> list[Path]:
    """Folders under hidden ones that PATH and Python need (`~/.pyenv`, `~/.cargo`)."""
    entries = os.environ.get("PATH", "").split(os.pathsep)
    entries += [sys.prefix, sys.base_prefix, sys.exec_prefix]
    found: list[Path] = []
    for entry in entries:
        if not entry or not os.path.isabs(entry):
            continue
        for path in {Path(entry), Path(os.path.realpath(entry))}:
            for root in hidden:
                depth = 2 if root == Path("/home") else 1  # /home/USER/.pyenv
                if not path.is_relative_to(root):
                    continue
                parts = path.relative_to(root).parts
                if len(parts) < depth:  # a whole home folder is never exposed
                    continue
                top = root.joinpath(*parts[:depth])
                exposed = path if top.name in (".local", ".config") else top
                if exposed.exists() and exposed not in found:
                    found.append(exposed)
    return found


def bubblewrap_args(
    bwrap: str,
    cwd: Path,
    *,
    workspace: Path,
    allowed_paths: Sequence[Path],
    protected_paths: Sequence[Path],
    network: bool,
) -> list[str]:
    """/ read-only; /tmp, /run, homes and protected paths hidden; workspace and allowed
    paths read-write. Order matters: later mounts cover earlier ones."""
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = [
        Path(p)
        for p in ("/tmp", "/var/tmp", "/run", "/root", "/home")
        if os.path.isdir(p) and not os.path.islink(p)
    ]
    for path in hidden:
        args += ["--tmpfs", str(path)]
    for path in _exposed_tool_dirs(hidden):
        args += ["--ro-bind", str(path), str(path)]
    workspace, *allowed = roots(workspace, allowed_paths)
    # allowed paths, then protected folders over them, then the workspace (which wins, as
    # in resolve_path), then protected files masked wherever they are
    for root in allowed:
        if root.exists():
            args += ["--bind", str(root), str(root)]
    protected = [resolve(p) for p in protected_paths]
    protected += [Path("/etc/shadow"), Path("/etc/gshadow")]
    for path in protected:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    args += ["--bind", str(workspace), str(workspace)]
    for path in protected:
        if path.is_file():
            args += ["--ro-bind", "/dev/null", str(path)]
    resolv = Path(os.path.realpath("/etc/resolv.conf"))
    if network and resolv.exists() and resolv.is_relative_to("/run"):
        args += ["--ro-bind", str(resolv), str(resolv)]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not network:
        args.append("--unshare-net")
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    return [*args, "--chdir", str(cwd), "--"]


async def start_process(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdin: bool
) -> asyncio.subprocess.Process:
    """Start `argv` leading its own process group and return at once: stdout and stderr are
    pipes, stdin a pipe when `stdin` else /dev/null."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    timeout: float,
    output_limit: int,
    isolation: Isolation,
) -> ProcessResult:
    """Run `argv` to its end or `timeout`, each output stream capped at `output_limit` bytes;
    the whole process group is killed afterwards (or when the caller is cancelled)."""
    loop = asyncio.get_running_loop()
    pipes = [os.pipe(), os.pipe()]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=pipes[0][1],
            stderr=pipes[1][1],
            start_new_session=True,
        )
    except BaseException:
        for read_end, _ in pipes:
            os.close(read_end)
        raise
    finally:
        for _, write_end in pipes:
            os.close(write_end)
    transports: list[asyncio.ReadTransport] = []
    captures: list[_CappedOutput] = []
    for read_end, _ in pipes:
        transport, capture = await loop.connect_read_pipe(
            partial(_CappedOutput, output_limit), os.fdopen(read_end, "rb", buffering=0)
        )
        transports.append(transport)
        captures.append(capture)
    feeder = None
    if stdin is not None and process.stdin is not None:
        feeder = asyncio.ensure_future(_feed(process.stdin, stdin))
    closed = [capture.closed for capture in captures]
    timed_out = False
    try:
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            timed_out = True
        else:
            await asyncio.wait(closed, timeout=_AFTER_EXIT_GRACE)
    finally:
        kill_process_group(process)
        if feeder is not None:
            feeder.cancel()
        await process.wait()
        await asyncio.wait(closed, timeout=_AFTER_EXIT_GRACE)
        for transport in transports:
            transport.close()
    stdout, stderr = captures
    return ProcessResult(
        exit_code=None if timed_out else process.returncode,
        stdout=stdout.text(),
        stderr=stderr.text(),
        timed_out=timed_out,
        truncated=stdout.truncated or stderr.truncated,
        isolation=isolation,
    )
