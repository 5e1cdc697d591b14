"""Workspace-relative file access that a concurrent process cannot race.

Checking a path and then opening it by name leaves a window: a process the model started can
swap a checked folder for a symlink in between. Here a path is opened by walking its
components from an open root directory (the workspace or a `sandbox.allowed_paths` entry),
each one with `O_NOFOLLOW` relative to the file descriptor of the one before, so what was
checked is what is used:

- a path is read lexically: relative to the workspace, `..` folded, never above its root;
- a symlink is never followed, in any component (`list_dir` shows where it points; use that
  path instead);
- only regular files with a single link are read or replaced: FIFOs, devices, sockets and hard
  links (a name for a file that may live elsewhere) are refused;
- `$OPENCLAW_HOME`, the config file and the sessions database are recognised by device and
  inode at every directory and file opened, so no path reaches them, even from a workspace
  that contains them;
- a write goes to a temporary file in the same open directory, is fsynced, then renamed over
  the name there: whatever the name holds by then is replaced, never written through.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from openclaw.errors import ToolError
from openclaw.sandbox.errors import deny
from openclaw.sandbox.paths import ensure_workspace, resolve

if TYPE_CHECKING:
    from openclaw.sandbox.policy import SandboxPolicy

OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the check must not hang the open
OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
OPEN_TEMP = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

Identity = tuple[int, int]  # (st_dev, st_ino)


def _identity(st: os.stat_result) -> Identity:
    return st.st_dev, st.st_ino


def _kind(st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "file" if stat.S_ISREG(st.st_mode) else "other"


@dataclass(slots=True)
class Directory:
    """An open, checked directory: `fd` stays valid (and the same folder) whatever happens to
    its name; `path` is where it was found, for programs that need a working directory."""

    fd: int
    path: Path
    shown: str
    _protected: frozenset[Identity]

    def named(self, name: str) -> str:
        return name if self.shown == "." else f"{self.shown}/{name}"

    def entries(self) -> list[os.DirEntry[str]]:
        """The entries, sorted by name (`DirEntry.stat` and `is_dir` work relative to `fd`)."""
        with os.scandir(self.fd) as scan:
            return sorted(scan, key=lambda entry: entry.name)

    def readlink(self, name: str) -> str:
        return os.readlink(name, dir_fd=self.fd)

    @contextlib.contextmanager
    def child(self, name: str, *, create: bool = False) -> Iterator[Directory]:
        """The subdirectory `name`, opened without following a symlink (created when asked)."""
        fd = _open_subdirectory(self, name, create=create)
        try:
            yield Directory(fd, self.path / name, self.named(name), self._protected)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def descend(self, parts: Sequence[str]) -> Iterator[Directory]:
        """The directory at `parts` below this one, each component opened as by `child`."""
        with contextlib.ExitStack() as stack:
            directory = self
            for part in parts:
                directory = stack.enter_context(directory.child(part))
            yield directory

    def lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a name too long, a folder without permission
            raise ToolError(f"cannot look at {self.named(name)}: {exc.strerror}") from None

    def check(self, st: os.stat_result, shown: str) -> None:
        """Refuse `$OPENCLAW_HOME` and the files it protects, whatever name reaches them."""
        if _identity(st) in self._protected:
            raise deny(
                "protected path",
                f"{shown} is openclaw's own folder or file (config, sessions, credentials)",
            )


def _refusal(directory: Directory, name: str, st: os.stat_result | None) -> ToolError:
    """Why `name` in `directory` cannot be used as a directory or a file."""
    shown = directory.named(name)
    if st is None:
        return ToolError(f"{shown} does not exist.")
    kind = _kind(st)
    if kind == "symlink":
        try:
            target = directory.readlink(name)
        except OSError:
            target = "?"
        return deny(
            "symlink",
            f"{shown} is a symlink (to {target}); file tools do not follow symlinks, use the "
            "path it points to",
        )
    if kind == "dir":
        return ToolError(f"{shown} is a directory.")
    if kind == "other":
        return deny("special file", f"{shown} is not a regular file (a FIFO, socket or device)")
    return ToolError(f"{shown} is not a directory.")


def _open_subdirectory(directory: Directory, name: str, *, create: bool) -> int:
    shown = directory.named(name)
    for _ in range(2):
        try:
            fd = os.open(name, OPEN_DIR, dir_fd=directory.fd)
        except FileNotFoundError:
            if not create:
                raise ToolError(f"{shown} does not exist.") from None
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=directory.fd)
            continue  # open what is there now: a symlink swapped in is refused below
        except NotADirectoryError:  # a symlink (O_NOFOLLOW) or not a directory
            raise _refusal(directory, name, directory.lstat(name)) from None
        except OSError as exc:
            raise ToolError(f"cannot open {shown}: {exc.strerror}") from None
        try:
            directory.check(os.fstat(fd), shown)
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise ToolError(f"cannot create {shown}: it keeps disappearing")


@dataclass(slots=True)
class Location:
    """A name in an open, checked directory (`name` None: the directory itself)."""

    directory: Directory
    name: str | None

    @property
    def shown(self) -> str:
        return self.directory.shown if self.name is None else self.directory.named(self.name)

    @property
    def path(self) -> Path:
        return self.directory.path if self.name is None else self.directory.path / self.name

    def kind(self) -> str:
        """One of dir, file, symlink, other (FIFO, socket, device) or missing."""
        if self.name is None:
            return "dir"
        st = self.directory.lstat(self.name)
        return "missing" if st is None else _kind(st)

    def _file(self, st: os.stat_result | None) -> None:
        """Refuse anything but a regular file with one link (hard links may live anywhere)."""
        assert self.name is not None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise _refusal(self.directory, self.name, st)
        self.directory.check(st, self.shown)
        if st.st_nlink > 1:
            raise deny(
                "hard link",
                f"{self.shown} has {st.st_nlink} hard links; another of its names may be "
                "outside the workspace",
            )

    def open_read(self) -> BinaryIO:
        """The file, open for reading; ToolError when it is not a plain regular file."""
        if self.name is None:
            raise ToolError(f"{self.shown} is a directory.")
        self._file(self.directory.lstat(self.name))  # before opening: never open a FIFO
        try:
            fd = os.open(self.name, OPEN_FILE, dir_fd=self.directory.fd)
        except OSError as exc:  # swapped since: ELOOP for a symlink, ENOENT, ...
            self._file(self.directory.lstat(self.name))
            raise ToolError(f"cannot open {self.shown}: {exc.strerror}") from None
        try:
            self._file(os.fstat(fd))
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def replace(self, content: bytes | BinaryIO) -> bool:
        """Atomically make the file hold `content` (bytes or a binary file to copy); True when
        a file was replaced. An existing file keeps its permission bits; a new one gets 0666
        minus the umask."""
        if self.name is None:
            raise ToolError(f"{self.shown} is a directory.")
        existing = self.directory.lstat(self.name)
        if existing is not None:
            self._file(existing)
        dir_fd = self.directory.fd
        temp = f".{self.name[:200]}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temp, OPEN_TEMP, 0o666, dir_fd=dir_fd)
        except OSError as exc:  # a read-only folder, a full disk
            raise ToolError(f"cannot write {self.shown}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                if existing is not None:
                    os.fchmod(handle.fileno(), stat.S_IMODE(existing.st_mode))
                if isinstance(content, bytes):
                    handle.write(content)
                else:
                    shutil.copyfileobj(content, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            if isinstance(exc, IsADirectoryError):
                raise ToolError(f"{self.shown} is a directory.") from None
            if isinstance(exc, OSError):
                raise ToolError(f"cannot write {self.shown}: {exc.strerror}") from None
            raise
        os.fsync(dir_fd)
        return existing is not None


class WorkspaceFiles:
    """Opens model-given paths beneath the workspace and `sandbox.allowed_paths` without a
    window for a racing process (see the module's docstring). Build it with
    `WorkspaceFiles.of(policy)`; it is cheap, and holds no open file between calls."""

    def __init__(
        self,
        workspace: Path,
        *,
        allowed_paths: Sequence[Path] = (),
        protected_paths: Sequence[Path] = (),
    ) -> None:
        self.workspace = Path(workspace).expanduser().absolute()
        self.roots = [self.workspace, *(Path(p).expanduser().absolute() for p in allowed_paths)]
        self.protected_paths = [Path(p).expanduser().absolute() for p in protected_paths]

    @classmethod
    def of(cls, policy: SandboxPolicy) -> WorkspaceFiles:
        return cls(
            policy.workspace,
            allowed_paths=policy.allowed_paths,
            protected_paths=policy.protected_paths,
        )

    def _protected(self) -> frozenset[Identity]:
        found = set()
        for path in self.protected_paths:
            with contextlib.suppress(OSError):
                found.add(_identity(path.stat()))
        return frozenset(found)

    def _split(self, path: str | Path) -> tuple[Path, list[str], str]:
        """(root, the components below it, how to show the path), from the words alone."""
        if "\0" in str(path):
            raise ToolError("a path cannot contain a NUL character")
        given = Path(path).expanduser()
        absolute = given if given.is_absolute() else self.workspace / given
        lexical = Path(posixpath.normpath(absolute))
        for root in self.roots:
            for spelling in dict.fromkeys([root, resolve(root)]):
                if lexical == spelling or lexical.is_relative_to(spelling):
                    parts = list(lexical.relative_to(spelling).parts)
                    if root == self.workspace:
                        return root, parts, "/".join(parts) or "."
                    return root, parts, str(root.joinpath(*parts))
        raise deny(
            "path allowlist",
            f"{path} is outside the workspace ({self.workspace}) and sandbox.allowed_paths",
        )

    def _open_root(self, root: Path, stack: contextlib.ExitStack[bool | None]) -> Directory:
        """`root` open and checked. A root inside another one is reached by a walk from that
        one, so a process writing the outer root cannot swap the inner root for a symlink;
        the others are trusted configuration, opened by their real path."""
        outer = next((o for o in self.roots if o != root and root.is_relative_to(o)), None)
        if outer is not None:
            directory = self._open_root(outer, stack)
            for part in root.relative_to(outer).parts:
                directory = stack.enter_context(directory.child(part))
        else:
            real = resolve(root)
            try:
                fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as exc:
                raise ToolError(f"cannot open {root}: {exc.strerror}") from None
            stack.callback(os.close, fd)
            directory = Directory(fd, real, str(root), self._protected())
        directory.shown = "." if root == self.workspace else str(root)
        if _identity(os.fstat(directory.fd)) in directory._protected:
            raise deny(
                "protected path",
                f"{root} is openclaw's own folder (config, sessions, credentials); give the "
                "workspace and sandbox.allowed_paths folders of their own",
            )
        return directory

    @contextlib.contextmanager
    def _walk(self, root: Path, parts: list[str], *, create: bool) -> Iterator[Directory]:
        if root == self.workspace:
            ensure_workspace(root)
        with contextlib.ExitStack() as stack:
            directory = self._open_root(root, stack)
            for part in parts:
                directory = stack.enter_context(directory.child(part, create=create))
            yield directory

    @contextlib.contextmanager
    def directory(self, path: str | Path) -> Iterator[Directory]:
        """`path` as an open, checked directory."""
        root, parts, _ = self._split(path)
        with self._walk(root, parts, create=False) as directory:
            yield directory

    @contextlib.contextmanager
    def locate(self, path: str | Path, *, create_parents: bool = False) -> Iterator[Location]:
        """`path` as a name in its open, checked parent directory (missing parent directories
        are created when `create_parents`)."""
        root, parts, _ = self._split(path)
        if not parts:
            with self._walk(root, [], create=False) as directory:
                yield Location(directory, None)
            return
        with self._walk(root, parts[:-1], create=create_parents) as directory:
            yield Location(directory, parts[-1])

    def write(self, path: str | Path, content: bytes | BinaryIO) -> tuple[bool, str]:
        """Create or atomically replace the file at `path`, parent folders included;
        (whether a file was replaced, the path as shown to the model)."""
        with self.locate(path, create_parents=True) as place:
            return place.replace(content), place.shown
