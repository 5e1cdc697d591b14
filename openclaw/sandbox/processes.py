"""Running commands: the environment they get, the bubblewrap or Landlock argv that isolates
them, starting them in their own process group, and running them to the end with output read as
it comes and capped, the whole process group killed when they end or time out.

Every wait after a kill is bounded: asyncio's `Process.wait()` also waits for the pipes to
close, so a descendant that outlived the kill (one that left the group under isolation `none`)
would otherwise stall the caller forever; `wait_process` closes our ends after a grace instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from asyncio.subprocess import SubprocessStreamProtocol
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from openclaw.redaction import is_secret_name
from openclaw.sandbox.paths import resolve, roots
from openclaw.text_limits import head_tail, marker

Isolation = Literal["bubblewrap", "landlock", "none"]


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


BASE_ENV = ("PATH", "LANG", "LC_ALL", "TERM", "TZ")
"""Variables every command gets from the gateway's environment (besides HOME and TMPDIR, which
the sandbox sets); `sandbox.env` names more."""
_LANDLOCK_EXEC = Path(__file__).with_name("landlock_exec.py")
# what commands may read and execute under Landlock: system folders, never homes or /tmp
LANDLOCK_READ = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/proc",
    "/sys",
    "/var/lib",
    "/var/cache",
    "/nix",
]
LANDLOCK_DEVICES = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
]
_AFTER_EXIT_GRACE = 0.5  # seconds for buffered output once the main process has exited


def kill_process_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the whole process group of a process started by `spawn` (its children too;
    under bubblewrap the PID namespace's init is in the group, so the namespace ends too)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class _ExitAwareProtocol(SubprocessStreamProtocol):
    """asyncio's stream protocol that also says when the process itself has exited (`exited`)
    and when every pipe to it is closed (`drained`), which may be never: a descendant can hold
    them. (`Process.wait()` waits for both when called before the exit, for neither after.)"""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()
        self._open: set[int] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._open = {fd for fd in (0, 1, 2) if transport.get_pipe_transport(fd) is not None}
        self._check_drained()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        super().pipe_connection_lost(fd, exc)
        self._open.discard(fd)
        self._check_drained()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)

    def _check_drained(self) -> None:
        if not self._open and not self.drained.done():
            self.drained.set_result(None)


class SpawnedProcess(asyncio.subprocess.Process):
    """A process from `start_process`: `exited` is done when the process itself has exited,
    `drained` when our pipes to it are closed, and `close_pipes` closes them, so a survivor
    holding them stalls nobody."""

    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _ExitAwareProtocol,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(transport, protocol, loop)
        self.exited = protocol.exited
        self.drained = protocol.drained
        self._pipes = [transport.get_pipe_transport(fd) for fd in (0, 1, 2)]

    def close_pipes(self) -> None:
        """Close our ends of stdin, stdout and stderr; their readers see the end of file."""
        for pipe in self._pipes:
            if isinstance(pipe, asyncio.WriteTransport):
                pipe.abort()  # close() would wait for a reader to take the buffered input
            elif pipe is not None:
                pipe.close()


async def _exec(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdin: Any, stdout: Any, stderr: Any
) -> SpawnedProcess:
    """`asyncio.create_subprocess_exec` leading a new session, with the `SpawnedProcess` extras."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        partial(_ExitAwareProtocol, 2**16, loop),
        *argv,
        cwd=cwd,
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    return SpawnedProcess(transport, protocol, loop)


async def wait_process(process: SpawnedProcess, grace: float = _AFTER_EXIT_GRACE) -> int:
    """Wait for the process itself to exit, then up to `grace` seconds for its pipes to be
    drained and closed, then close our ends: its exit code, however its descendants behave."""
    try:
        await asyncio.shield(process.exited)
        await asyncio.wait([process.drained], timeout=grace)
    finally:
        if not process.drained.done():
            process.close_pipes()
    await process.drained  # closing reports the lost connections at the next loop iteration
    return await process.wait()


async def end_process(process: SpawnedProcess, grace: float = _AFTER_EXIT_GRACE) -> int:
    """Kill the process group (`kill_process_group`) and wait for the process, at most `grace`
    seconds for output still in the pipes (`wait_process`): never longer, whatever survived."""
    kill_process_group(process)
    return await wait_process(process, grace)


class _CappedOutput(asyncio.Protocol):
    """Keeps the first 75% and the last 25% of `limit` bytes of a pipe (`text_limits`, the
    rule `tools.truncate` uses for characters), counting the rest."""

    def __init__(self, limit: int) -> None:
        self.head_limit, self.tail_limit = head_tail(limit)
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
        return f"{head}{marker(dropped, 'bytes')}{tail}"


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


def withheld(name: str, secret_env: Collection[str]) -> str | None:
    """Why variable `name` is never passed to a command, even when `sandbox.env` lists it, or
    None when it may be: a command's output reaches the model, the session history and the
    chat, so a secret in it would leak."""
    if name in secret_env:
        return 'the config reads a secret from it ({"$env": ...})'
    if is_secret_name(name):
        return "its name marks a secret"
    return None


def environment(
    names: Collection[str],
    secret_env: Collection[str],
    scratch: str,
    extra: Mapping[str, str] | None,
) -> dict[str, str]:
    """A command's environment, built from an allowlist, never the gateway's own: `BASE_ENV`
    and `names` taken from the gateway's environment (except `$env` secrets of the config and
    variables whose name marks a secret, `is_secret_name`), HOME and TMPDIR set to `scratch`
    (a folder private to the command), then `extra`."""
    wanted = [n for n in (*BASE_ENV, *names) if withheld(n, secret_env) is None]
    env = {n: os.environ[n] for n in wanted if n in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(HOME=scratch, TMPDIR=scratch)
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
    # no --new-session: bwrap's child, the namespace's init, stays in the process group the
    # gateway made (a new session without a terminal, so no TIOCSTI injection either), and a
    # group kill ends the namespace at once; with it, the init was reached only through
    # --die-with-parent, which it sets after forking the command, so a kill right after the
    # start left the whole namespace running with the command's pipes open
    args += ["--die-with-parent", "--cap-drop", "ALL"]
    return [*args, "--chdir", str(cwd), "--"]


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or inner.is_relative_to(outer)


def _landlock_tool_dirs(protected: Sequence[Path]) -> list[Path]:
    """Folders outside the system ones that PATH and Python need: `~/.pyenv` as for bubblewrap,
    and elsewhere the entry itself, or its parent for a `bin` folder (a virtualenv, /usr/local).
    Never `/`, a whole home folder, or a folder holding a protected path."""
    hidden = [Path(p) for p in ("/tmp", "/var/tmp", "/run", "/root", "/home")]
    system = [Path(p) for p in LANDLOCK_READ]
    entries = os.environ.get("PATH", "").split(os.pathsep)
    entries += [sys.prefix, sys.base_prefix, sys.exec_prefix]
    found = _exposed_tool_dirs(hidden)
    for entry in entries:
        if not entry or not os.path.isabs(entry) or not os.path.isdir(entry):
            continue
        path = Path(os.path.realpath(entry))
        if any(_contains(root, path) for root in [*system, *hidden]):
            continue
        parent = path.parent if path.name == "bin" else path
        for candidate in (parent, path):
            if candidate == Path("/") or candidate == Path.home():
                continue
            if candidate not in found:
                found.append(candidate)
            break
    return [d for d in found if not any(_contains(d, resolve(p)) for p in protected)]


def _around(root: Path, protected: Sequence[Path]) -> list[Path]:
    """`root` (resolved), or when it holds protected paths (`$OPENCLAW_HOME` in /opt, say) its
    entries minus those, splitting further down: a Landlock rule grants a whole tree (a rule on
    a symlink grants its target's), so that tree must not include them."""
    root = Path(os.path.realpath(root))
    if not any(_contains(root, p) for p in protected):
        return [root]
    if root in protected or not root.is_dir():
        return []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    return [path for entry in entries for path in _around(entry, protected)]


def landlock_args(
    *,
    workspace: Path,
    allowed_paths: Sequence[Path],
    protected_paths: Sequence[Path],
    scratch: Path,
    network: bool,
) -> list[str]:
    """The argv prefix that runs a command under `landlock_exec`: system folders and tool
    folders read-only, the workspace, allowed paths and `scratch` read-write, nothing else.

    Landlock grants and cannot hide a file inside a granted folder, so a workspace or allowed
    path holding a protected path raises ValueError (bubblewrap masks those instead)."""
    protected = [resolve(p) for p in protected_paths]
    writable = roots(workspace, allowed_paths)
    for root in writable:
        for path in protected:
            if _contains(root, path):
                raise ValueError(
                    f"{root} holds the protected {path}, which Landlock cannot hide inside a "
                    "folder it grants; take it out of sandbox.allowed_paths or the workspace, "
                    "or use bubblewrap"
                )
    readable = [Path(p) for p in LANDLOCK_READ] + _landlock_tool_dirs(protected)
    resolv = Path(os.path.realpath("/etc/resolv.conf"))
    if network and resolv.exists() and not any(_contains(p, resolv) for p in protected):
        readable.append(resolv)
    spec = {
        "read": [str(path) for root in readable for path in _around(root, protected)],
        "write": [str(p) for p in [*writable, scratch] if p.exists()],
        "devices": LANDLOCK_DEVICES,
        "network": network,
    }
    return [sys.executable, "-I", str(_LANDLOCK_EXEC), json.dumps(spec), "--"]


async def start_process(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdin: bool
) -> SpawnedProcess:
    """Start `argv` leading its own session and process group and return at once: stdout and
    stderr are pipes, stdin a pipe when `stdin` else /dev/null. End it with `end_process`."""
    return await _exec(
        argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
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
        process = await _exec(
            argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=pipes[0][1],
            stderr=pipes[1][1],
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
            await asyncio.wait_for(asyncio.shield(process.exited), timeout)
        except TimeoutError:
            timed_out = True
        else:
            await asyncio.wait(closed, timeout=_AFTER_EXIT_GRACE)
    finally:
        kill_process_group(process)
        if feeder is not None:
            feeder.cancel()
        await wait_process(process)  # stdin, when given, is asyncio's pipe
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
