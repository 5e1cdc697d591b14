"""A cache of `openclaw [COMMAND ...] --help` output, so a repeated `--help` costs the
interpreter's start-up and a few `stat` calls: no click, no `importlib.metadata` scan, no config
read, no plugin import.

The first run renders the help with click as usual and writes it down with everything it
depended on: the interpreter, `sys.path`, every `OPENCLAW_*` variable, the terminal width, and
the inode, size and modification time of each `sys.path` folder (installing, upgrading or
removing a distribution changes its folder), of every non-stdlib module file it imported
(openclaw, click, a plugin imported for its `register_cli_commands` hook) and of each file it
read without importing (the config file, plugin sources, `OPENCLAW_PLUGINS_DIR`). A later run
replays the text only when all of that is unchanged; otherwise it renders and rewrites it.

Stdlib only (`os`, `sys`): this module runs before anything else is imported.
"""

import os
import sys

# no `from __future__ import annotations` nor `collections.abc` here: both cost start-up time,
# and these annotations work at run time as written

FORMAT = "openclaw-help-cache 1"
_inputs: set[str] = set()
"""Files read (not imported) while rendering: see `note_input`."""


def note_input(path: os.PathLike[str] | str) -> None:
    """Record a file (or folder) the help text depends on without importing it, so a change
    to it invalidates the cached text."""
    _inputs.add(os.fspath(path))


def cacheable(args: list[str]) -> bool:
    """`--help` after nothing but command names: `openclaw --help`, `openclaw plugins --help`.
    With an option before it (`--config FILE`) the text is rendered every time."""
    if not args or args[-1] != "--help":
        return False
    return all(word and not word.startswith("-") and word.isprintable() for word in args[:-1])


def cache_dir() -> str:
    """`$XDG_CACHE_HOME/openclaw` (default `~/.cache/openclaw`): not `$OPENCLAW_HOME`, which
    read-only commands leave untouched."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "openclaw")


def cache_file(args: list[str]) -> str:
    """One file per command, interpreter and `sys.path`, so two virtualenvs (or the console
    script and `python -m openclaw`, whose first path entries differ) do not take turns."""
    words = "_".join(word for word in args[:-1] if word.replace("-", "").isalnum()) or "openclaw"
    where = _fnv1a("\0".join([sys.executable, sys.prefix, *sys.path]).encode())
    return os.path.join(cache_dir(), "cli-help", f"{words}-{where:08x}.txt")


def _fnv1a(data: bytes) -> int:
    """A stable 32-bit hash (FNV-1a), without loading zlib's or hashlib's extension module."""
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _columns() -> int:
    """The width click formats for: `shutil.get_terminal_size().columns` (without importing
    shutil), clamped to what click's formatter uses (50 to 78 text columns)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return min(max(columns, 52), 80)


def key(args: list[str]) -> str:
    """Everything besides files that the rendered text depends on, as one line."""
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("OPENCLAW_"))
    return repr((FORMAT, list(args), _columns(), sys.executable, sys.version, sys.path, env))


def _stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"- - - {path}"
    return f"{st.st_ino} {st.st_size} {st.st_mtime_ns} {path}"


def replay(args: list[str]) -> bool:
    """Write the cached text for `args` to stdout if nothing it depends on changed."""
    if not cacheable(args):
        return False
    try:
        with open(cache_file(args), encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError):
        return False
    head, sep, output = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or len(lines) < 2 or lines[0] != FORMAT or lines[1] != key(args):
        return False
    for line in lines[2:]:
        if _stamp(line.split(" ", 3)[-1]) != line:
            return False
    sys.stdout.write(output)
    sys.stdout.flush()
    return True


def _module_files() -> set[str]:
    """Files of the imported modules outside the stdlib (the interpreter's version, in the
    key, stands for the stdlib)."""
    stdlib = os.path.dirname(os.__file__) + os.sep
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if path.startswith(stdlib) and "-packages" + os.sep not in path:
            continue
        found.add(path)
    return found


def depends_on() -> list[str]:
    """Every file and folder the text just rendered depends on."""
    folders = [entry or os.getcwd() for entry in sys.path]
    return sorted({*folders, *_module_files(), *_inputs})


def store(args: list[str], output: str, paths: list[str]) -> None:
    """Write the text down; a cache that cannot be written is no error."""
    stamps = [_stamp(path) for path in paths]
    if any("\n" in line for line in stamps):
        return
    path = cache_file(args)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as file:
            file.write("\n".join([FORMAT, key(args), *stamps]) + "\n\n" + output)
        os.replace(temporary, path)
    except OSError:
        import contextlib  # not at the top: the replay path imports nothing it does not use

        with contextlib.suppress(OSError):
            os.unlink(temporary)
