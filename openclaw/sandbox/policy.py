"""`SandboxPolicy`: the one object every tool goes through, tying the layers together with the
settings of the config's `sandbox` section: the blocklist (`rules`), the path allowlist
(`paths`), OS isolation and running commands (`processes`), and the SSRF guard (`urls`).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import math
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from openclaw.errors import ToolError
from openclaw.sandbox.errors import SandboxDenied, deny
from openclaw.sandbox.landlock_exec import abi_version
from openclaw.sandbox.paths import ensure_workspace, resolve, resolve_path
from openclaw.sandbox.processes import (
    Isolation,
    ProcessResult,
    SpawnedProcess,
    bubblewrap_args,
    environment,
    landlock_args,
    run_process,
    secret_env_names,
    start_process,
    withheld,
)
from openclaw.sandbox.rules import check_blocklist, user_rule
from openclaw.sandbox.urls import UrlGuard

if TYPE_CHECKING:
    import aiohttp

    from openclaw.config import Config


IsolationMode = Literal["auto", "bubblewrap", "landlock", "none"]
_PR_SET_DUMPABLE = 4
_cleanups: set[asyncio.Task[None]] = set()  # scratch folders of background processes
_bwrap_probes: dict[str, str | None] = {}  # bwrap binary -> why it does not work here


def _not_dumpable() -> None:
    """Mark the gateway non-dumpable: other processes of its user, sandboxed commands
    included, can then read neither its environment nor its memory under /proc."""
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


@functools.cache
def _landlock_problem() -> str | None:
    """Why the Landlock backend cannot run here, or None."""
    abi = abi_version()
    if abi < 1:
        return "the kernel offers no Landlock (Linux 5.13 or later, with landlock in its LSM list)"
    try:
        import landlock  # noqa: F401
        import pyseccomp  # noqa: F401
    except (ImportError, OSError, RuntimeError) as exc:
        return f"the Landlock backend's libraries are missing ({exc}; Debian: libseccomp2)"
    return None


@dataclass(slots=True)
class _Prepared:
    """A checked command ready to start: its argv, folder, isolation and environment, and the
    private folder (HOME and TMPDIR) to delete when it ends."""

    argv: list[str]
    cwd: Path
    isolation: Isolation
    env: dict[str, str]
    scratch: Path | None

    def clean(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class SandboxPolicy:
    """Decides what commands may run and which paths may be read or written, runs commands
    (isolated with bubblewrap, else Landlock), and checks URLs against SSRF.

    Build it with `SandboxPolicy.from_config(config)`; the same policy object serves every tool.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        allowed_paths: Sequence[Path] = (),
        blocked_commands: Sequence[str] = (),
        isolation: IsolationMode = "auto",
        exec_timeout: float = 60.0,
        network: bool = False,
        allowed_hosts: Sequence[str] = (),
        output_limit: int = 64_000,
        protected_paths: Sequence[Path] = (),
        secret_env: Iterable[str] = (),
        env: Sequence[str] = (),
        bubblewrap: str = "bwrap",
        landlock: bool = True,
    ) -> None:
        self.workspace = Path(workspace).expanduser().absolute()
        self.allowed_paths = [
            p if p.is_absolute() else self.workspace / p
            for p in (Path(p).expanduser() for p in allowed_paths)
        ]
        self.blocked_commands = list(blocked_commands)
        self._user_rules = [(entry, user_rule(entry)) for entry in self.blocked_commands]
        self.isolation_mode = isolation
        self.exec_timeout = float(exec_timeout)
        self.network = network
        self.output_limit = output_limit
        self.protected_paths = [Path(p).expanduser().absolute() for p in protected_paths]
        self.secret_env = set(secret_env)
        self.env_names = list(env)
        self.bubblewrap = bubblewrap
        self.landlock = landlock
        self._urls = UrlGuard(allowed_hosts)
        self._landlock: list[str | None] = []  # once checked: why Landlock cannot be used

    @classmethod
    def from_config(cls, config: Config) -> SandboxPolicy:
        """The policy of `config.sandbox`; the config file, the sessions database and
        `$OPENCLAW_HOME` are protected, and `$env` secrets are kept out of commands."""
        sandbox = config.sandbox
        database = config.sessions_db
        protected = [config.home, database] + [
            database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal")
        ]
        if config.source is not None:
            protected.append(config.source)
        return cls(
            config.workspace,
            allowed_paths=[Path(p) for p in sandbox.allowed_paths],
            blocked_commands=sandbox.blocked_commands,
            isolation=sandbox.isolation,
            exec_timeout=sandbox.exec_timeout,
            network=sandbox.network,
            allowed_hosts=sandbox.allowed_hosts,
            output_limit=sandbox.output_limit,
            protected_paths=protected,
            secret_env=secret_env_names(config.model_dump(mode="json")),
            env=sandbox.env,
            bubblewrap=sandbox.bubblewrap_path,
            landlock=sandbox.landlock,
        )

    def withheld_env(self) -> list[str]:
        """A warning for each variable `sandbox.env` lists that commands never get, naming it
        and why (`openclaw config validate`, `doctor` and the gateway's start-up show them)."""
        reasons = ((name, withheld(name, self.secret_env)) for name in self.env_names)
        return [
            f"sandbox.env: {name} is not passed to commands: {why}"
            for name, why in reasons
            if why is not None
        ]

    # -- commands ---------------------------------------------------------------------------

    def check_command(self, command: str) -> None:
        """Raise SandboxDenied naming the rule when `command` matches the blocklist."""
        check_blocklist(command, self._user_rules)

    def clamp_timeout(self, requested: float | None) -> float:
        """`requested` limited to the configured maximum (the maximum when None, non-positive
        or not a number), so a model cannot ask for an hour-long command."""
        if requested is None or not math.isfinite(requested) or requested <= 0:
            return self.exec_timeout
        return min(float(requested), self.exec_timeout)

    def isolation(self) -> Isolation:
        """The isolation commands get now: "bubblewrap", "landlock" or "none".

        `auto` is bubblewrap when `bwrap` is found and works here (a trial run, once), else
        Landlock when the kernel has it, else every command is refused (SandboxDenied naming
        both fixes); `bubblewrap` and `landlock` require that backend (fail closed)."""
        mode = self.isolation_mode
        if mode == "none":
            return "none"
        problems = []
        if mode in ("auto", "bubblewrap"):
            problem = self._bubblewrap_problem()
            if problem is None:
                return "bubblewrap"
            if mode == "bubblewrap":
                raise deny(
                    "isolation",
                    f'sandbox.isolation is "bubblewrap" but {problem}; install bubblewrap '
                    '(Debian: apt install bubblewrap) or set sandbox.isolation to "auto" '
                    'or "none"',
                )
            problems.append(problem)
        problem = self._landlock_problem()
        if problem is None:
            return "landlock"
        if mode == "landlock":
            raise deny("isolation", f'sandbox.isolation is "landlock" but {problem}')
        problems.append(problem)
        raise deny(
            "isolation",
            f"no isolation for commands: {'; '.join(problems)}. Install bubblewrap "
            '(Debian: apt install bubblewrap), or set "isolation": "none" in the sandbox '
            "config to run commands without isolation",
        )

    def describe_isolation(self) -> tuple[bool, str]:
        """(isolated, one line) for `openclaw doctor`, `/status` and the gateway's log."""
        try:
            isolation = self.isolation()
        except SandboxDenied as exc:
            return False, f"commands are refused: {exc}"
        net = "network allowed" if self.network else "no network"
        if isolation == "bubblewrap":
            return True, f"commands run in bubblewrap ({shutil.which(self.bubblewrap)}, {net})"
        if isolation == "landlock":
            return True, f"commands run under Landlock (ABI {abi_version()}, {net})"
        return False, "commands run WITHOUT isolation (sandbox.isolation is none)"

    def _bubblewrap_problem(self) -> str | None:
        """Why bubblewrap cannot be used here, or None."""
        bwrap = shutil.which(self.bubblewrap)
        if bwrap is None:
            return f"{self.bubblewrap} was not found on PATH"
        return self._probe(bwrap)

    def _landlock_problem(self) -> str | None:
        if not self.landlock:
            return "Landlock is turned off (sandbox.landlock is false)"
        if not self._landlock:
            problem = _landlock_problem()
            if problem is None:
                try:
                    self._landlock_args(self.workspace)
                except ValueError as exc:
                    problem = str(exc)
            self._landlock.append(problem)
        return self._landlock[0]

    def _landlock_args(self, scratch: Path) -> list[str]:
        return landlock_args(
            workspace=self.workspace,
            allowed_paths=self.allowed_paths,
            protected_paths=self.protected_paths,
            scratch=scratch,
            network=self.network,
        )

    def _probe(self, bwrap: str) -> str | None:
        """Why bwrap fails here (no user namespaces, say), from one short trial run (once per
        binary and process: `/status` and every tool plugin build their own policy)."""
        if bwrap not in _bwrap_probes:
            ensure_workspace(self.workspace)
            argv = [*self._bubblewrap_args(bwrap, resolve(self.workspace)), "true"]
            env = environment((), self.secret_env, "/tmp", None)
            try:
                done = subprocess.run(argv, capture_output=True, timeout=20, env=env)
                error = None if done.returncode == 0 else done.stderr.decode(errors="replace")
            except (OSError, subprocess.TimeoutExpired) as exc:
                error = str(exc)
            _bwrap_probes[bwrap] = error and f"bwrap does not work here: {error.strip()}"
        return _bwrap_probes[bwrap]

    def _bubblewrap_args(self, bwrap: str, cwd: Path) -> list[str]:
        return bubblewrap_args(
            bwrap,
            cwd,
            workspace=self.workspace,
            allowed_paths=self.allowed_paths,
            protected_paths=self.protected_paths,
            network=self.network,
        )

    def _prepare(
        self, command: str | Sequence[str], cwd: Path | None, env: Mapping[str, str] | None
    ) -> _Prepared:
        """Check the command and the cwd, choose the isolation, build the argv and the
        environment (with a private HOME and TMPDIR: the bubblewrap /tmp, else a new folder)."""
        if isinstance(command, str):
            self.check_command(command)
            argv = ["/bin/sh", "-c", command]
        else:
            argv = [str(part) for part in command]
            if not argv:
                raise ToolError("empty command")
            self.check_command(shlex.join(argv))
        ensure_workspace(self.workspace)
        directory = self.resolve_path(cwd) if cwd is not None else resolve(self.workspace)
        if not directory.is_dir():
            raise ToolError(f"working directory {directory} does not exist")
        isolation = self.isolation()
        _not_dumpable()
        if isolation == "bubblewrap":
            argv = [*self._bubblewrap_args(str(shutil.which(self.bubblewrap)), directory), *argv]
            return _Prepared(argv, directory, isolation, self._env("/tmp", env), None)
        scratch = Path(tempfile.mkdtemp(prefix="openclaw-cmd-"))
        prepared = _Prepared(argv, directory, isolation, self._env(str(scratch), env), scratch)
        if isolation == "landlock":
            try:
                prepared.argv[:0] = self._landlock_args(scratch)
            except ValueError as exc:  # an allowed path created since the check holds secrets
                prepared.clean()
                raise deny("isolation", str(exc)) from None
        return prepared

    def _env(self, scratch: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        return environment(self.env_names, self.secret_env, scratch, extra)

    async def spawn(
        self,
        command: str | Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bool = False,
    ) -> SpawnedProcess:
        """Start a command under the policy and isolation and return at once (for background
        processes): stdout and stderr are pipes, stdin a pipe when `stdin` else /dev/null.

        The process leads its own process group: end it with `await end_process(process)`
        (the group killed, the wait bounded even if something outlived the kill), and after
        it exits on its own with `await wait_process(process)` or `end_process` to take its
        leftover children too. Reading its pipes, and their size, is the caller's job."""
        prepared = self._prepare(command, cwd, env)
        try:
            process = await start_process(
                prepared.argv, cwd=prepared.cwd, env=prepared.env, stdin=stdin
            )
        except BaseException:
            prepared.clean()
            raise

        async def clean_when_done() -> None:
            try:
                await process.wait()
            finally:
                prepared.clean()

        task = asyncio.ensure_future(clean_when_done())
        _cleanups.add(task)
        task.add_done_callback(_cleanups.discard)
        return process

    async def run(
        self,
        command: str | Sequence[str],
        *,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        output_limit: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ProcessResult:
        """Run a command (a shell string through `/bin/sh -c`, or an argv list) under the
        policy and isolation, in the workspace unless `cwd` (itself checked) says otherwise.

        Output is read as it comes and capped at `output_limit` bytes per stream (the
        configured limit when None). At the timeout, or when the caller is cancelled, the
        whole process group is killed; so are background children once the command exits."""
        prepared = self._prepare(command, cwd, env)
        try:
            return await run_process(
                prepared.argv,
                cwd=prepared.cwd,
                env=prepared.env,
                stdin=stdin,
                timeout=self.clamp_timeout(timeout),
                output_limit=output_limit or self.output_limit,
                isolation=prepared.isolation,
            )
        finally:
            prepared.clean()

    # -- paths ------------------------------------------------------------------------------

    def resolve_path(self, path: str | Path, *, write: bool = False) -> Path:
        """The absolute, symlink-resolved path (relative paths are relative to the workspace);
        raise SandboxDenied when it falls outside the allowlist.

        `..` and every symlink (of the path and of its parents, chains and dangling links
        included) are resolved before deciding, so a link pointing outside is refused for
        reads and writes alike; a write to a file with several hard links is refused too.
        The config file, the sessions database and `$OPENCLAW_HOME` outside the workspace are
        refused even when an allowed path contains them."""
        return resolve_path(
            path,
            workspace=self.workspace,
            allowed_paths=self.allowed_paths,
            protected_paths=self.protected_paths,
            write=write,
        )

    # -- URLs -------------------------------------------------------------------------------

    def check_address(self, address: str, *, url: str = "", host: str = "") -> None:
        """Raise SandboxDenied when an IP address is internal and not in sandbox.allowed_hosts."""
        self._urls.check_address(address, url=url, host=host)

    def host_allowed(self, host: str) -> bool:
        """Whether sandbox.allowed_hosts lets `host` through by name, whatever it resolves to
        (for code that resolves once and checks each address itself, such as a proxy)."""
        return self._urls._host_allowed(host)

    def check_url(self, url: str) -> None:
        """Raise SandboxDenied for non-http(s) URLs and, unless allowed in the config, for hosts
        that resolve to private, loopback, link-local or otherwise internal addresses (SSRF).

        Every address the host resolves to must be public. This resolves with a blocking
        `getaddrinfo`; async code should prefer `check_url_async`. A check before fetching
        cannot stop DNS rebinding: fetch through `ssrf_guarded_connector` too."""
        self._urls.check_url(url)

    async def check_url_async(self, url: str) -> None:
        """`check_url` without blocking the event loop while resolving."""
        await self._urls.check_url_async(url)

    def ssrf_guarded_connector(self, **kwargs: Any) -> aiohttp.TCPConnector:
        """An aiohttp connector that checks the address of every connection it opens.

        The check runs on the socket actually connected (after DNS, for every redirect hop
        and for IP literals alike), so DNS rebinding and redirects to internal addresses are
        refused: the request raises SandboxDenied. Hosts named in sandbox.allowed_hosts may
        connect to whatever they resolve to. `kwargs` go to `aiohttp.TCPConnector`."""
        return self._urls.connector(**kwargs)
