"""The sandbox policy every tool and script plugin goes through.

Three layers, because a blocklist alone can always be bypassed:
1. a command blocklist (dangerous patterns, matched through quoting and wrappers),
2. a path allowlist (the workspace by default) decided on fully resolved paths, symlinks included,
3. OS isolation with bubblewrap when available (or required): the workspace read-write, the rest
   read-only with home directories and temporary folders hidden, no network unless configured, a
   new PID namespace.
URLs get an SSRF check (`check_url`, and `ssrf_guarded_connector` for aiohttp, which re-checks the
address actually connected to). A denial raises `SandboxDenied`, a `ToolError` whose message names
the rule, so the model reads it. See docs/security.md for what each layer does and does not stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import posixpath
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from openclaw.tools import ToolError

if TYPE_CHECKING:
    import aiohttp

    from openclaw.config import Config

log = logging.getLogger("openclaw.sandbox")

Isolation = Literal["bubblewrap", "none"]


class SandboxDenied(ToolError):
    """The sandbox refused an action; the message names the rule that refused it."""


def _deny(rule: str, detail: str) -> SandboxDenied:
    return SandboxDenied(f"blocked by sandbox rule '{rule}': {detail}")


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


# --------------------------------------------------------------------------------------------
# Command analysis: a small shell lexer that never fails (an unterminated quote runs to the
# end), so that quoting, wrappers, separators and substitutions cannot hide a simple command.
# `shlex` is not used for this: it cannot see `$(...)` inside double quotes nor operators.
# --------------------------------------------------------------------------------------------

_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")", "\n")
_REDIRECTS = ("&>>", "&>", ">>", ">|", ">&", "<<<", "<<-", "<<", "<>", "<&", ">", "<")
_OUTPUT_REDIRECTS = frozenset({"&>>", "&>", ">>", ">|", ">&", "<>", ">"})
_ANSI_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b"}
_ANSI_ESCAPES |= {"f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_MAX_DEPTH = 12
_MAX_COMMAND = 200_000  # characters; the analysis is linear, this bounds its time


@dataclass(slots=True)
class _Token:
    kind: Literal["word", "op", "redirect"]
    text: str
    subs: list[str] = field(default_factory=list)


def _skip_quote(text: str, i: int) -> int:
    """Index just past the double-quoted string whose content starts at `i`."""
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
        elif char == '"':
            return i + 1
        elif text.startswith("$(", i):
            i = _closing_paren(text, i + 1)
        else:
            i += 1
    return len(text)


def _closing_paren(text: str, start: int) -> int:
    """Index just past the `)` matching the `(` at `start` (the end of text if none)."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "'":
            end = text.find("'", i + 1)
            i = len(text) if end < 0 else end + 1
            continue
        if char == '"':
            i = _skip_quote(text, i + 1)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _closing_backtick(text: str, start: int) -> int:
    """Index of the backtick closing the one at `start` (the end of text if none)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == "`":
            return i
        else:
            i += 1
    return len(text)


def _ansi_c(body: str) -> str:
    """Decode the body of a `$'...'` string (`\\x72` is `r`)."""

    def one(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] in "xu":
            return chr(int(escape[1:], 16)) if len(escape) > 1 else escape
        if escape[0] in "01234567":
            return chr(int(escape, 8) & 0xFF)
        return _ANSI_ESCAPES.get(escape, "\\" + escape)

    return re.sub(r"\\(x[0-9a-fA-F]{0,2}|u[0-9a-fA-F]{0,4}|[0-7]{1,3}|.)", one, body)


class _Lexer:
    """Splits a command line into words (quotes removed), operators and redirections."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Token] = []
        self.word: list[str] = []
        self.subs: list[str] = []
        self.started = False

    def flush(self) -> None:
        if self.started:
            self.tokens.append(_Token("word", "".join(self.word), self.subs))
        self.word, self.subs, self.started = [], [], False

    def add(self, text: str) -> None:
        self.word.append(text)
        self.started = True

    def substitution(self, i: int) -> int:
        """Handle `$(...)`, `<(...)`, `>(...)` at `i`; the inner text is analysed separately."""
        end = _closing_paren(self.text, i + 1)
        self.subs.append(self.text[i + 2 : end - 1])
        self.add(self.text[i:end])
        return end

    def double_quoted(self, i: int) -> int:
        text = self.text
        self.started = True
        while i < len(text):
            char = text[i]
            if char == '"':
                return i + 1
            if char == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                self.add(nxt if nxt in '"\\$`' else ("" if nxt == "\n" else "\\" + nxt))
                i += 2
            elif text.startswith("$(", i):
                i = self.substitution(i)
            elif char == "`":
                end = _closing_backtick(text, i)
                self.subs.append(text[i + 1 : end])
                self.add(text[i : end + 1])
                i = end + 1
            else:
                self.add(char)
                i += 1
        return i

    def run(self) -> list[_Token]:
        text = self.text
        i = 0
        while i < len(text):
            char = text[i]
            if char in " \t\r":
                self.flush()
                i += 1
            elif char == "\\":
                if text[i + 1 : i + 2] != "\n":
                    self.add(text[i + 1 : i + 2])
                i += 2
            elif char == "'":
                end = text.find("'", i + 1)
                end = len(text) if end < 0 else end
                self.add(text[i + 1 : end])
                i = end + 1
            elif char == '"':
                i = self.double_quoted(i + 1)
            elif text.startswith("$'", i):
                end = i + 2
                while end < len(text) and text[end] != "'":
                    end += 2 if text[end] == "\\" else 1
                self.add(_ansi_c(text[i + 2 : end]))
                i = end + 1
            elif text.startswith(("$(", "<(", ">("), i):
                i = self.substitution(i)
            elif char == "`":
                end = _closing_backtick(text, i)
                self.subs.append(text[i + 1 : end])
                self.add(text[i : end + 1])
                i = end + 1
            elif char in "<>" or text.startswith("&>", i):
                if self.started and "".join(self.word).isdigit():
                    self.word, self.started = [], False  # a file descriptor: 2>/dev/null
                self.flush()
                op = next(op for op in _REDIRECTS if text.startswith(op, i))
                self.tokens.append(_Token("redirect", op))
                i += len(op)
            elif char in ";&|()\n":
                self.flush()
                op = next(op for op in _OPERATORS if text.startswith(op, i))
                self.tokens.append(_Token("op", op))
                i += len(op)
            else:
                self.add(char)
                i += 1
        self.flush()
        return self.tokens


@dataclass(slots=True)
class _Stage:
    """One simple command as written: its words, redirections and substitutions."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)


def _pipelines(tokens: list[_Token]) -> list[list[_Stage]]:
    """Group simple commands into pipelines; `;`, `&&`, `||`, `&` and newlines end one."""
    pipelines: list[list[_Stage]] = []
    stages: list[_Stage] = []
    current = _Stage()
    pending: str | None = None
    for token in tokens:
        if token.kind == "redirect":
            pending = token.text
            continue
        if token.kind == "word":
            current.subs += token.subs
            if pending is not None:
                current.redirects.append((pending, token.text))
                pending = None
            else:
                current.words.append(token.text)
            continue
        pending = None
        if current.words or current.redirects:
            stages.append(current)
        current = _Stage()
        if token.text not in ("|", "|&", "(", ")") and stages:
            pipelines.append(stages)
            stages = []
    if current.words or current.redirects:
        stages.append(current)
    if stages:
        pipelines.append(stages)
    return pipelines


def _words(text: str) -> list[str]:
    return [token.text for token in _Lexer(text).run() if token.kind == "word"]


def _normal_path(word: str) -> str:
    """`/etc//./passwd` and `/tmp/../etc/passwd` are `/etc/passwd`; relative words stay."""
    if not word.startswith("/"):
        return word
    return posixpath.normpath("/" + word.lstrip("/"))


def _flags(args: Sequence[str]) -> set[str]:
    """Short option letters (`-rf` gives r, f) and long options (`--force`) before `--`."""
    found: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--"):
            found.add(arg.split("=", 1)[0])
        elif arg.startswith("-") and len(arg) > 1:
            found.update(arg[1:])
    return found


def _operands(args: Sequence[str]) -> list[str]:
    found: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return found + list(args[index + 1 :])
        if not arg.startswith("-") or arg == "-":
            found.append(arg)
    return found


_WRITE_ALL_OPERANDS = frozenset(
    {"tee", "truncate", "shred", "rm", "unlink", "chmod", "chown", "chgrp", "chattr", "touch"}
)
_WRITE_LAST_OPERAND = frozenset({"cp", "mv", "install", "ln", "rsync", "scp"})


@dataclass(slots=True, eq=False)
class _Cmd:
    """A simple command after unwrapping, as the rules see it (`prog` is a basename)."""

    prog: str
    args: list[str]
    redirects: list[tuple[str, str]]
    assignments: list[str]
    after_download: bool  # an earlier stage of its pipeline runs curl, wget, nc...

    @property
    def flags(self) -> set[str]:
        return _flags(self.args)

    @property
    def operands(self) -> list[str]:
        return _operands(self.args)

    @property
    def writes(self) -> list[str]:
        """Paths this command writes to: output redirections and the targets of writers."""
        targets = [
            target
            for op, target in self.redirects
            if op in _OUTPUT_REDIRECTS and not target.isdigit() and target != "-"
        ]
        operands = self.operands
        if self.prog in _WRITE_ALL_OPERANDS:
            targets += operands
        elif self.prog in _WRITE_LAST_OPERAND and len(operands) >= 2:
            targets.append(operands[-1])
        elif self.prog in ("sed", "perl") and any(
            re.match(r"-[a-zA-Z]*i|--in-place", arg) for arg in self.args
        ):
            targets += operands
        elif self.prog == "dd":
            targets += [arg[3:] for arg in self.args if arg.startswith("of=")]
        return [_normal_path(target) for target in targets]

    def display(self) -> str:
        parts = [*self.assignments, self.prog, *self.args]
        parts += [f"{op} {target}" for op, target in self.redirects]
        shown = " ".join(part for part in parts if part)
        return shown if len(shown) <= 300 else shown[:300] + " ..."


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_RESERVED = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "do", "while", "until", "fi", "done", "esac"}
)
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
_CODE_FLAGS = {"python": ("-c",), "perl": ("-e", "-E"), "ruby": ("-e",), "node": ("-e", "-p")}
_CODE_FLAGS |= {"nodejs": ("-e", "-p"), "php": ("-r",), "lua": ("-e",)}
_DECLARE = frozenset({"export", "declare", "typeset", "local", "readonly"})
# wrapper program -> (options that take a value, positional arguments before the command)
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (
        frozenset(
            {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group"}
        ),
        0,
    ),
    "doas": (frozenset({"-u", "-C"}), 0),
    "nohup": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "time": (frozenset({"-f", "-o", "--format", "--output"}), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "unbuffer": (frozenset(), 0),
    "busybox": (frozenset(), 0),
    "strace": (frozenset({"-o", "-e", "-p", "-s", "-u"}), 0),
    "ltrace": (frozenset({"-o", "-e", "-p", "-s", "-u"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "chrt": (frozenset(), 1),
    "taskset": (frozenset(), 1),
    "chroot": (frozenset({"--userspec", "--groups"}), 1),
    "flock": (frozenset({"-w", "-E", "--timeout", "--conflict-exit-code"}), 1),
    "xargs": (
        frozenset({"-I", "-n", "-P", "-d", "-a", "-E", "-L", "-s", "--max-args", "--max-procs"}),
        0,
    ),
}


def _skip_options(args: Sequence[str], with_value: Iterable[str]) -> list[str]:
    takes_value = set(with_value)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return list(args[i + 1 :])
        if not arg.startswith("-") or arg == "-":
            break
        i += 2 if arg in takes_value else 1
    return list(args[i:])


def _shell_script(args: Sequence[str]) -> str | None:
    """The script of `sh -c SCRIPT` (also `-xc`, `-ec`, ...), None for a script file or stdin."""
    for index, arg in enumerate(args):
        if not arg.startswith(("-", "+")) or arg == "--":
            return None
        if not arg.startswith("--") and "c" in arg[1:]:
            rest = [a for a in args[index + 1 :] if a != "--"]
            return next((a for a in rest if not a.startswith("-")), None)
    return None


def _code_language(prog: str) -> str | None:
    if re.fullmatch(r"python[0-9.]*", prog):
        return "python"
    return prog if prog in _CODE_FLAGS else None


def _inline_code(language: str, args: Sequence[str]) -> list[str]:
    """The code given on the command line (`python -c CODE`, `perl -le CODE`, ...)."""
    flags = _CODE_FLAGS[language]
    found = []
    for index, arg in enumerate(args[:-1]):
        if arg in flags or (
            arg.startswith("-") and not arg.startswith("--") and arg[-1] == flags[0][-1]
        ):
            found.append(args[index + 1])
    return found


_LITERAL = re.compile(r"'((?:[^'\\\n]|\\.)*)'|\"((?:[^\"\\\n]|\\.)*)\"|`([^`]*)`")


def _find_roots(args: Sequence[str]) -> list[str]:
    roots = []
    for arg in args:
        if arg.startswith(("-", "(", "!")):
            break
        roots.append(arg)
    return roots or ["."]


def _find_commands(args: Sequence[str]) -> list[list[str]]:
    """`find ROOT -exec CMD {} ;` as argv lists, `{}` replaced by each root."""
    commands = []
    roots = _find_roots(args)
    i = 0
    while i < len(args):
        if args[i] in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(args) and args[end] not in (";", "+"):
                end += 1
            for root in roots:
                commands.append([root if a == "{}" else a for a in args[i + 1 : end]])
            i = end
        i += 1
    return commands


def _env_command(args: Sequence[str]) -> list[str]:
    """The command `env [-i] [-u NAME] [-S STRING] [VAR=x]... CMD` runs."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-u", "--unset", "-C", "--chdir"):
            i += 2
        elif arg in ("-S", "--split-string") and i + 1 < len(args):
            return _words(args[i + 1]) + list(args[i + 2 :])
        elif arg.startswith("-S") or arg.startswith("--split-string="):
            return _words(arg.split("=", 1)[1] if arg.startswith("--") else arg[2:]) + list(
                args[i + 1 :]
            )
        elif arg.startswith("-") or _ASSIGNMENT.match(arg):
            i += 1
        else:
            break
    return list(args[i:])


class _TooDeep(Exception):
    """Nesting beyond what the analysis follows: refused rather than guessed."""


class _Scan:
    """Every simple command a command line may run, wrappers unwrapped, nesting followed."""

    def __init__(self) -> None:
        self.commands: list[_Cmd] = []
        self.texts: list[str] = []
        self.variables: dict[str, str] = {"IFS": " "}

    def text(self, text: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise _TooDeep
        self.texts.append(text)
        for pipeline in _pipelines(_Lexer(text).run()):
            downloaded = False
            echoed: list[str] = []
            for stage in pipeline:
                for sub in stage.subs:
                    self.text(sub, depth + 1)
                argv = self.expand(stage.words)
                levels = self.argv(argv, stage.redirects, downloaded, echoed, depth)
                downloaded = downloaded or any(lv.prog in _DOWNLOADERS for lv in levels)
                last = levels[-1] if levels else None
                echoed = (
                    [w for a in last.operands for w in a.split()]
                    if last and last.prog in ("echo", "printf")
                    else []
                )

    def expand(self, words: list[str]) -> list[str]:
        """Expand variables assigned earlier in the same command line (`a=rm; $a -rf /`)."""
        if all(_ASSIGNMENT.match(word) for word in words):
            for word in words:
                name, _, value = word.partition("=")
                self.variables[name] = value
        expanded: list[str] = []

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            return self.variables.get(name, match.group(0))

        for word in words:
            new = re.sub(r"\$\{(\w+)\}|\$(\w+)", lookup, word)
            expanded += new.split() if new != word else [word]
        return expanded

    def argv(
        self,
        argv: list[str],
        redirects: list[tuple[str, str]],
        after_download: bool,
        echoed: list[str],
        depth: int,
    ) -> list[_Cmd]:
        """Record `argv` and each command it wraps (`sudo env X=1 rm` gives three levels)."""
        levels: list[_Cmd] = []
        assignments: list[str] = []
        while argv:
            head = argv[0]
            if _ASSIGNMENT.match(head):
                assignments.append(head)
                argv = argv[1:]
                continue
            if head in _RESERVED:
                argv = argv[1:]
                continue
            if re.fullmatch(r"\{[^{}\s]*,[^{}\s]*\}", head):  # brace expansion: {rm,-rf,/}
                argv = head[1:-1].split(",") + argv[1:]
                continue
            if len(levels) + depth > _MAX_DEPTH:
                raise _TooDeep
            cmd = _Cmd(
                head.rsplit("/", 1)[-1] or head, argv[1:], redirects, assignments, after_download
            )
            levels.append(cmd)
            self.commands.append(cmd)
            argv = self.unwrap(cmd, echoed, depth)
        if not levels and (assignments or redirects):
            cmd = _Cmd("", [], redirects, assignments, after_download)
            levels.append(cmd)
            self.commands.append(cmd)
        return levels

    def unwrap(self, cmd: _Cmd, echoed: list[str], depth: int) -> list[str]:
        """The argv `cmd` runs in turn (empty when none); scripts it runs are scanned."""
        prog, args = cmd.prog, cmd.args
        if prog in _SHELLS:
            script = _shell_script(args)
            if script is not None:
                self.text(script, depth + 1)
        elif prog == "eval":
            self.text(" ".join(args), depth + 1)
        elif prog in ("su", "runuser"):
            for index, arg in enumerate(args):
                if arg in ("-c", "--command") and index + 1 < len(args):
                    self.text(args[index + 1], depth + 1)
                elif arg.startswith("--command="):
                    self.text(arg.split("=", 1)[1], depth + 1)
            if "--" in args:
                return args[args.index("--") + 1 :]
        elif prog == "watch":
            rest = _skip_options(args, ("-n", "--interval", "-d", "-g"))
            if rest:
                self.text(" ".join(rest), depth + 1)
        elif prog == "find":
            for sub in _find_commands(args):
                self.argv(sub, [], False, [], depth + 1)
        elif prog == "env":
            return _env_command(args)
        elif prog in _DECLARE:
            self.expand([arg for arg in args if _ASSIGNMENT.match(arg)])
        elif prog in _WRAPPERS:
            with_value, positional = _WRAPPERS[prog]
            rest = _skip_options(args, with_value)[positional:]
            return rest + echoed if prog == "xargs" and rest else rest
        elif (language := _code_language(prog)) is not None:
            for code in _inline_code(language, args):
                self.texts.append(code)
                literals = ["".join(groups) for groups in _LITERAL.findall(code)]
                for literal in [*literals, " ".join(literals)]:
                    self.text(literal, depth + 1)
        return []


# --------------------------------------------------------------------------------------------
# The blocklist. Each rule is data: a name (shown in denials and in docs/security.md), what it
# stops, and a predicate over one unwrapped simple command (or over a whole script's text).
# --------------------------------------------------------------------------------------------

_HOME_MARK = "/\x00home"
_TOP_LEVEL = "bin boot dev etc home lib lib32 lib64 libx32 opt proc root sbin srv sys usr var"
_SYSTEM_DIRS = frozenset(
    [f"/{name}" for name in _TOP_LEVEL.split()]
    + [f"/usr/{name}" for name in ("bin", "lib", "local", "sbin", "share")]
    + ["/var/lib", "/var/log"]
)
_DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "nc", "ncat", "netcat", "socat"})
_DOWNLOAD_SUB = re.compile(r"(\$\(|<\(|`)\s*(\S*/)?(curl|wget|fetch|aria2c|nc|ncat)\b")
_DISK = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|loop\d|sr\d|nbd\d"
    r"|zram\d|disk/|mapper/|root$|mem$|kmem$|port$)"
)
_HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")
_ACCOUNT_FILES = frozenset({"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"})
_SYSTEM_WRITE_DIRS = ("/etc/", "/boot/", "/usr/", "/bin/", "/sbin/", "/lib", "/var/spool/cron")
_INTERPRETERS = _SHELLS | {"perl", "ruby", "node", "nodejs", "php", "lua", "source", ".", "eval"}


def _target(word: str) -> Literal["root", "home", "system"] | None:
    """Whether a path argument means `/`, the home directory or a top-level system directory.

    A leading unknown variable may be empty, so `"$DIR"/*` counts as `/*`."""
    for prefix in ("${HOME}", "$HOME", "~"):
        if word == prefix or word.startswith(prefix + "/"):
            word = _HOME_MARK + word[len(prefix) :]
            break
    else:
        if re.match(r"~[\w.-]+(/|$)", word):
            word = _HOME_MARK + word[word.find("/") :] if "/" in word else _HOME_MARK
        elif match := re.match(r"\$\{?\w+\}?(?=/)", word):
            word = word[match.end() :]
    if not word.startswith("/"):
        return None
    while word.endswith(("/*", "/.", "/.*")) or (word.endswith("/") and len(word) > 1):
        word = word[: -2 if word.endswith(("/*", "/.")) else (-3 if word.endswith("/.*") else -1)]
    path = _normal_path(word or "/")
    if path == "/":
        return "root"
    if path in (_HOME_MARK, str(Path.home())):
        return "home"
    return "system" if path in _SYSTEM_DIRS else None


def _recursive(cmd: _Cmd) -> bool:
    return bool({"r", "R", "--recursive"} & cmd.flags)


def _deletes(kind: str) -> Callable[[_Cmd], bool]:
    def match(cmd: _Cmd) -> bool:
        if cmd.prog == "rm" and _recursive(cmd):
            if kind == "root" and "--no-preserve-root" in cmd.flags:
                return True
            return any(_target(operand) == kind for operand in cmd.operands)
        if cmd.prog == "rsync" and any(f.startswith("--delete") for f in cmd.flags):
            return bool(cmd.operands) and _target(cmd.operands[-1]) == kind
        return False

    return match


def _recursive_on_system(*progs: str) -> Callable[[_Cmd], bool]:
    def match(cmd: _Cmd) -> bool:
        return cmd.prog in progs and _recursive(cmd) and any(map(_target, cmd.operands))

    return match


def _kills_everything(cmd: _Cmd) -> bool:
    if cmd.prog == "killall5":
        return True
    if cmd.prog != "kill":
        return False
    pids: list[str] = []
    signal_given = False
    i = 0
    while i < len(cmd.args):
        arg = cmd.args[i]
        if arg == "--":
            pids += cmd.args[i + 1 :]
            break
        if arg in ("-s", "-n", "--signal"):
            signal_given = True
            i += 2
            continue
        if arg.startswith("-") and not signal_given and not pids:
            signal_given = True
        else:
            pids.append(arg)
        i += 1
    return any(pid in ("-1", "1") for pid in pids)


def _wipes_history(cmd: _Cmd) -> bool:
    assigned = cmd.assignments + (cmd.args if cmd.prog in _DECLARE else [])
    if any(a.startswith("HISTFILE=") or a in ("HISTSIZE=0", "HISTFILESIZE=0") for a in assigned):
        return True
    if cmd.prog == "history" and "c" in cmd.flags:
        return True
    if cmd.prog == "unset" and "HISTFILE" in cmd.args:
        return True
    return any(target.endswith(("_history", ".history")) for target in cmd.writes)


def _systemctl(actions: str, units: str = "") -> Callable[[_Cmd], bool]:
    """`systemctl ACTION [UNIT...]` (and `loginctl`) with one of `actions` and of `units`."""
    wanted_actions, wanted_units = actions.split(), units.split()

    def match(cmd: _Cmd) -> bool:
        operands = cmd.operands
        if cmd.prog not in ("systemctl", "loginctl") or operands[:1] == []:
            return False
        if operands[0] not in wanted_actions:
            return False
        return not wanted_units or any(
            u.removesuffix(".service") in wanted_units for u in operands[1:]
        )

    return match


def _progs(names: str) -> Callable[[_Cmd], bool]:
    programs = frozenset(names.split())
    return lambda cmd: cmd.prog in programs


def _writes_to(test: Callable[[str], bool]) -> Callable[[_Cmd], bool]:
    return lambda cmd: any(test(target) for target in cmd.writes)


def _any(*predicates: Callable[[_Cmd], bool]) -> Callable[[_Cmd], bool]:
    return lambda cmd: any(predicate(cmd) for predicate in predicates)


def _fork_bomb(text: str) -> bool:
    """A function that calls itself twice, piped or in the background, or a fork loop."""
    flat = " ".join(text.split())
    definition = r"(?:^|(?<=[\s;&|(){}]))([^\s(){};|&]+)\s*\(\s*\)\s*\{([^}]*)\}"
    for match in re.finditer(definition, flat):
        name, body = re.escape(match.group(1)), match.group(2)
        if re.search(rf"(^|[\s;&|]){name}\s*[|&]\s*{name}($|[\s;&|])", body):
            return True
    return bool(
        re.search(r"\bfork\s+while\s+fork\b|\bwhile\b[^\n]*:\s*(os\.)?fork\(\)", text)
        or re.search(r"\bwhile\s+(true|:|1)\s*;\s*do\b[^;]*[^&]&\s*;?\s*done\b", flat)
    )


def _find_delete(cmd: _Cmd) -> bool:
    return cmd.prog == "find" and "-delete" in cmd.args and any(map(_target, _find_roots(cmd.args)))


def _wipes_disk(cmd: _Cmd) -> bool:
    if cmd.prog in ("shred", "wipe"):
        return any(operand.startswith("/dev/") for operand in cmd.operands)
    if cmd.prog == "cryptsetup":
        return bool({"luksFormat", "erase", "luksErase"} & {*cmd.args})
    return cmd.prog in ("wipefs", "blkdiscard")


def _partitions(cmd: _Cmd) -> bool:
    partitioners = ("fdisk", "sfdisk", "cfdisk", "gdisk", "sgdisk", "parted")
    return cmd.prog in partitioners and not {"l", "--list"} & cmd.flags


def _dd_to_device(cmd: _Cmd) -> bool:
    return cmd.prog == "dd" and any(
        arg.startswith("of=/dev/") and not arg[3:].startswith(_HARMLESS_DEVICES) for arg in cmd.args
    )


def _setuid(cmd: _Cmd) -> bool:
    mode = cmd.operands[0] if cmd.prog == "chmod" and cmd.operands else ""
    return bool(re.match(r"^([ugoa]*[+=][rwxXt]*s|0?[2467][0-7]{3}$)", mode))


def _is_interpreter(prog: str) -> bool:
    return prog in _INTERPRETERS or _code_language(prog) is not None


def _download_piped(cmd: _Cmd) -> bool:
    """An interpreter reading its program from stdin, downstream of a downloader."""
    if not _is_interpreter(cmd.prog) or not cmd.after_download:
        return False
    return not cmd.operands or "-" in cmd.args or (cmd.prog in _SHELLS and "s" in cmd.flags)


def _download_executed(cmd: _Cmd) -> bool:
    """`bash <(curl ..)`, `sh -c "$(curl ..)"`, `python -c "$(curl ..)"`."""
    if not _is_interpreter(cmd.prog):
        return False
    return any(
        _DOWNLOAD_SUB.search(arg)
        and (
            cmd.prog in _INTERPRETERS
            or arg.startswith("<(")
            or cmd.args[index - 1 : index] in (["-c"], ["-e"], ["-E"], ["-r"])
        )
        for index, arg in enumerate(cmd.args)
    )


def _account_file(target: str) -> bool:
    return target in _ACCOUNT_FILES or target.startswith("/etc/sudoers")


def _sysctl(cmd: _Cmd) -> bool:
    if cmd.prog != "sysctl":
        return False
    return bool({"w", "p", "--write", "--load", "--system"} & cmd.flags) or any(
        "=" in operand for operand in cmd.operands
    )


def _crontab_remove(cmd: _Cmd) -> bool:
    return cmd.prog == "crontab" and any(
        arg.startswith("-") and not arg.startswith("--") and "r" in arg for arg in cmd.args
    )


def _iptables_flush(cmd: _Cmd) -> bool:
    if not cmd.prog.startswith(("iptables", "ip6tables")):
        return False
    return bool({"F", "X", "--flush", "--delete-chain"} & cmd.flags) or "ACCEPT" in cmd.args


def _network_down(cmd: _Cmd) -> bool:
    if cmd.prog == "ip" and "link" in cmd.operands:
        return bool({"down", "delete", "del"} & {*cmd.args})
    if cmd.prog == "nmcli":
        return cmd.operands[:2] == ["networking", "off"]
    return cmd.prog == "ifdown" or (cmd.prog == "ifconfig" and "down" in cmd.operands)


def _mounts(cmd: _Cmd) -> bool:
    if cmd.prog == "mount":
        remount = any("remount" in arg for arg in cmd.args)
        return remount or bool({"--bind", "--rbind", "--move", "a", "--all"} & cmd.flags)
    return cmd.prog == "umount"


def _reverse_shell(cmd: _Cmd) -> bool:
    words = [*cmd.args, *(target for _, target in cmd.redirects)]
    if any("/dev/tcp/" in word or "/dev/udp/" in word for word in words):
        return True
    if cmd.prog in ("nc", "ncat", "netcat", "nc.traditional", "nc.openbsd"):
        return bool({"e", "c", "--exec", "--sh-exec", "--lua-exec"} & cmd.flags)
    return cmd.prog == "socat" and any(re.match(r"(?i)(exec|system):", a) for a in cmd.args)


def _container_escape(cmd: _Cmd) -> bool:
    if cmd.prog in ("docker", "podman", "nerdctl"):
        return any(
            arg in ("--privileged", "--pid=host")
            or re.match(r"^(-v|--volume=?|--mount=.*source=)?/:", arg)
            for arg in cmd.args
        )
    return cmd.prog == "nsenter"


@dataclass(frozen=True, slots=True)
class CommandRule:
    """One blocklist entry: `command` tests one unwrapped simple command, `text` a whole script."""

    name: str
    description: str
    command: Callable[[_Cmd], bool] | None = None
    text: Callable[[str], bool] | None = None


_R = CommandRule
# Order matters only for the name a denial shows: specific rules come before general ones.
COMMAND_RULES: tuple[CommandRule, ...] = (
    _R("recursive delete of /", "`rm -r` (any spelling, `--no-preserve-root`) or "
       "`rsync --delete` on `/`, `/*`, `//`, `\"$EMPTY\"/*`", _deletes("root")),
    _R("recursive delete of ~", "the same on `~`, `$HOME`, `${HOME}` or the real home",
       _deletes("home")),
    _R("recursive delete of a system directory", "the same on `/etc`, `/usr`, `/bin`, `/var`, "
       "`/home`, `/root` and the other top-level folders", _deletes("system")),
    _R("find -delete on / or ~", "`find` with `-delete` from `/`, `~` or a system directory "
       "(`find -exec` commands are checked as commands)", _find_delete),
    _R("move / or ~ away", "`mv` whose source is `/`, `~` or a system directory",
       lambda c: c.prog == "mv" and any(map(_target, c.operands[:-1]))),
    _R("make a filesystem", "`mkfs`, `mkfs.*`, `mke2fs`, `mkswap`, `mkdosfs`, `mkntfs`",
       _any(lambda c: c.prog.startswith("mkfs"), _progs("mke2fs mkswap mkdosfs mkntfs"))),
    _R("wipe a disk", "`wipefs`, `blkdiscard`, `shred` of a device, `cryptsetup luksFormat`",
       _wipes_disk),
    _R("partition a disk", "`fdisk`, `sfdisk`, `cfdisk`, `gdisk`, `sgdisk`, `parted` "
       "(listing with `-l` is allowed)", _partitions),
    _R("dd to a device", "`dd of=/dev/...` other than `/dev/null`, `/dev/zero`, `/dev/stdout`",
       _dd_to_device),
    _R("write to a block device", "a redirection, `tee`, `cp`... to a disk (`/dev/sda`, "
       "`/dev/nvme0n1`, ...) or `/dev/mem`", _writes_to(lambda t: bool(_DISK.match(t)))),
    _R("fork bomb", "a function running itself twice (`:(){ :|:& };:`), `fork while fork`, "
       "`while true; do ... & done`, a Python `os.fork()` loop", text=_fork_bomb),
    _R("shutdown or reboot", "`shutdown`, `reboot`, `halt`, `poweroff`",
       _progs("shutdown reboot halt poweroff")),
    _R("systemctl power action", "`systemctl`/`loginctl` poweroff, reboot, halt, kexec, suspend, "
       "hibernate, rescue, emergency, isolate", _systemctl(
           "poweroff reboot halt kexec suspend hibernate hybrid-sleep rescue emergency isolate")),
    _R("init runlevel change", "`init 0`, `init 6`, `telinit 1` and the like",
       lambda c: c.prog in ("init", "telinit") and c.operands[:1] in (["0"], ["1"], ["6"])),
    _R("recursive chmod of / or ~", "`chmod -R` on `/`, `~` or a system directory",
       _recursive_on_system("chmod")),
    _R("recursive chown of / or ~", "`chown -R`/`chgrp -R` on `/`, `~` or a system directory",
       _recursive_on_system("chown", "chgrp")),
    _R("set the setuid bit", "`chmod u+s`, `chmod 4755` and other setuid/setgid modes", _setuid),
    _R("download piped to a shell", "`curl`/`wget`/`nc` output piped into `sh`, `bash`, "
       "`python`, `perl`... that read their program from stdin", _download_piped),
    _R("download executed by a shell", "`bash <(curl ...)`, `sh -c \"$(wget -O- ...)\"`, "
       "`eval \"$(curl ...)\"`", _download_executed),
    _R("write to /etc/passwd, /etc/shadow, /etc/group or /etc/sudoers", "a redirection, `tee`, "
       "a `cp`/`mv`/`ln` target, `sed -i`, `truncate`, `chmod`, `rm`... of them",
       _writes_to(_account_file)),
    _R("change user accounts", "`passwd`, `chpasswd`, `useradd`, `usermod`, `userdel`, "
       "`visudo`, `vipw`, ...", _progs("passwd chpasswd useradd usermod userdel adduser "
       "deluser groupmod gpasswd visudo vipw vigr chage")),
    _R("write to ssh authorized_keys", "any write to `.ssh/authorized_keys` (a login for "
       "someone else)", _writes_to(lambda t: t.endswith((".ssh/authorized_keys", "_keys2")))),
    _R("magic SysRq trigger", "writes to `/proc/sysrq-trigger` (instant reboot, crash, kill)",
       _writes_to(lambda t: t == "/proc/sysrq-trigger")),
    _R("change kernel parameters", "`sysctl -w`/`-p`/`name=value`, writes under `/proc/sys` or "
       "`/sys`", _any(_sysctl, _writes_to(lambda t: t.startswith(("/proc/sys/", "/sys/"))))),
    _R("write to a system directory", "redirections, `tee`, `cp`/`mv` targets, `rm`, `chmod`... "
       "under `/etc`, `/boot`, `/usr`, `/bin`, `/sbin`, `/lib*`, `/var/spool/cron`",
       _writes_to(lambda t: t.startswith(_SYSTEM_WRITE_DIRS))),
    _R("kill every process", "`kill` of pid `-1` (every process) or `1` (init), `killall5`",
       _kills_everything),
    _R("remove all cron jobs", "`crontab -r`", _crontab_remove),
    _R("wipe shell history", "`history -c`, `unset HISTFILE`, `HISTFILE=`/`HISTSIZE=0`, writes "
       "to `*_history` files", _wipes_history),
    _R("flush firewall rules", "`iptables -F`/`-X`/`-P ... ACCEPT`, `nft flush`, "
       "`ufw disable`/`reset`, stopping firewalld", _any(
           _iptables_flush,
           lambda c: c.prog == "nft" and bool({"flush", "delete"} & {*c.operands}),
           lambda c: c.prog == "ufw" and c.operands[:1] in (["disable"], ["reset"]),
           _systemctl("stop disable mask", "firewalld ufw nftables"))),
    _R("disable SELinux or AppArmor", "`setenforce 0`, `aa-teardown`, `aa-disable`, stopping "
       "apparmor", _any(
           lambda c: c.prog == "setenforce" and c.operands[:1] in (["0"], ["Permissive"]),
           _progs("aa-teardown aa-disable aa-complain"),
           _systemctl("stop disable mask", "apparmor"))),
    _R("load or unload kernel modules", "`insmod`, `rmmod`, `modprobe`",
       _progs("insmod rmmod modprobe")),
    _R("take the network down", "`ifdown`, `ifconfig IF down`, `ip link set IF down`/`delete`, "
       "`nmcli networking off`", _network_down),
    _R("mount or unmount filesystems", "`umount`, `mount -o remount`, `mount --bind`/`--move`, "
       "`mount -a`", _mounts),
    _R("reverse shell", "`/dev/tcp/...` redirections, `nc -e`/`-c`, `socat ... EXEC:`",
       _reverse_shell),
    _R("container or namespace escape", "`nsenter`, `docker`/`podman` with `--privileged`, "
       "`--pid=host` or `/` mounted", _container_escape),
)  # fmt: skip


def _user_rule(entry: str) -> Callable[[str], bool]:
    """`re:PATTERN` is a regular expression; anything else matches as whole words."""
    if entry.startswith("re:"):
        pattern = re.compile(entry[3:])
    else:
        pattern = re.compile(rf"(?<!\S){re.escape(' '.join(entry.split()))}(?!\S)")
    return lambda text: pattern.search(text) is not None


# --------------------------------------------------------------------------------------------
# Running commands
# --------------------------------------------------------------------------------------------

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


def _secret_env_names(data: Any) -> set[str]:
    """Every `{"$env": NAME}` in the config: those variables are never passed to commands."""
    if isinstance(data, dict):
        if set(data) == {"$env"} and isinstance(data["$env"], str):
            return {data["$env"]}
        return set().union(*(_secret_env_names(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(_secret_env_names(value) for value in data))
    return set()


def _resolve(path: Path) -> Path:
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise _deny("path allowlist", f"{path} cannot be resolved ({exc})") from None


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


class SandboxPolicy:
    """Decides what commands may run and which paths may be read or written, runs commands
    (isolated with bubblewrap when available), and checks URLs against SSRF.

    Build it with `SandboxPolicy.from_config(config)`; the same policy object serves every tool.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        allowed_paths: Sequence[Path] = (),
        blocked_commands: Sequence[str] = (),
        isolation: Literal["auto", "bubblewrap", "none"] = "auto",
        exec_timeout: float = 60.0,
        network: bool = False,
        allowed_hosts: Sequence[str] = (),
        output_limit: int = 64_000,
        protected_paths: Sequence[Path] = (),
        secret_env: Iterable[str] = (),
    ) -> None:
        self.workspace = Path(workspace).expanduser().absolute()
        self.allowed_paths = [
            p if p.is_absolute() else self.workspace / p
            for p in (Path(p).expanduser() for p in allowed_paths)
        ]
        self.blocked_commands = list(blocked_commands)
        self._user_rules = [(entry, _user_rule(entry)) for entry in self.blocked_commands]
        self.isolation_mode = isolation
        self.exec_timeout = float(exec_timeout)
        self.network = network
        self.output_limit = output_limit
        self.protected_paths = [Path(p).expanduser().absolute() for p in protected_paths]
        self.secret_env = set(secret_env)
        hosts = [h.strip().lower().rstrip(".") for h in allowed_hosts]
        self._allowed_names = [h for h in hosts if not _is_network(h)]
        self._allowed_networks = [
            ipaddress.ip_network(h, strict=False) for h in hosts if _is_network(h)
        ]
        self._probed: dict[str, str | None] = {}  # bwrap path -> error of a trial run
        self._warned: set[str] = set()

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
            secret_env=_secret_env_names(config.model_dump(mode="json")),
        )

    # -- commands ---------------------------------------------------------------------------

    def check_command(self, command: str) -> None:
        """Raise SandboxDenied naming the rule when `command` matches the blocklist."""
        if len(command) > _MAX_COMMAND:
            raise _deny("command length", f"{len(command)} characters; write a script file instead")
        scan = _Scan()
        try:
            scan.text(command, 0)
        except _TooDeep:
            raise _deny(
                "nesting", "the command nests wrappers or substitutions too deeply"
            ) from None
        for rule in COMMAND_RULES:
            if rule.text is not None:
                for text in scan.texts:
                    if rule.text(text):
                        raise _deny(rule.name, " ".join(text.split())[:300])
            if rule.command is not None:
                for cmd in scan.commands:
                    if rule.command(cmd):
                        raise _deny(rule.name, cmd.display())
        candidates = [cmd.display() for cmd in scan.commands]
        candidates += [" ".join(text.split()) for text in scan.texts]
        for entry, matches in self._user_rules:
            for candidate in candidates:
                if matches(candidate):
                    raise _deny(f"sandbox.blocked_commands: {entry}", candidate[:300])

    def clamp_timeout(self, requested: float | None) -> float:
        """`requested` limited to the configured maximum (the maximum when None, non-positive
        or not a number), so a model cannot ask for an hour-long command."""
        if requested is None or not math.isfinite(requested) or requested <= 0:
            return self.exec_timeout
        return min(float(requested), self.exec_timeout)

    def isolation(self) -> Isolation:
        """The isolation commands get now: "bubblewrap" or "none".

        `auto` uses bubblewrap when `bwrap` is on PATH and works here (a trial run, once),
        else none with a warning; `bubblewrap` raises SandboxDenied instead (fails closed)."""
        if self.isolation_mode == "none":
            return "none"
        bwrap = shutil.which("bwrap")
        problem = "bwrap was not found on PATH" if bwrap is None else self._probe(bwrap)
        if problem is None:
            return "bubblewrap"
        if self.isolation_mode == "bubblewrap":
            raise _deny(
                "isolation",
                f'sandbox.isolation is "bubblewrap" but {problem}; install bubblewrap '
                '(Debian: apt install bubblewrap) or set sandbox.isolation to "auto" or "none"',
            )
        if problem not in self._warned:
            self._warned.add(problem)
            log.warning(
                "sandbox: %s; commands run WITHOUT isolation (sandbox.isolation=auto)", problem
            )
        return "none"

    def describe_isolation(self) -> tuple[bool, str]:
        """(isolated, one line) for `openclaw doctor` and status pages."""
        try:
            isolation = self.isolation()
        except SandboxDenied as exc:
            return False, str(exc)
        if isolation == "bubblewrap":
            net = "network allowed" if self.network else "no network"
            return True, f"commands run in bubblewrap ({shutil.which('bwrap')}, {net})"
        why = "sandbox.isolation is none" if self.isolation_mode == "none" else "bwrap unusable"
        return False, f"commands run WITHOUT isolation ({why}): only the blocklist applies"

    def _probe(self, bwrap: str) -> str | None:
        """Why bwrap fails here (no user namespaces, say), from one short trial run."""
        if bwrap not in self._probed:
            self._ensure_workspace()
            argv = [*self._bubblewrap_args(bwrap, _resolve(self.workspace)), "true"]
            try:
                done = subprocess.run(argv, capture_output=True, timeout=20, env=self._env(None))
                error = None if done.returncode == 0 else done.stderr.decode(errors="replace")
            except (OSError, subprocess.TimeoutExpired) as exc:
                error = str(exc)
            self._probed[bwrap] = error and f"bwrap does not work here: {error.strip()}"
        return self._probed[bwrap]

    def _ensure_workspace(self) -> None:
        try:
            self.workspace.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ToolError(f"cannot create the workspace {self.workspace}: {exc}") from None

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The environment minus anything that looks like a secret, plus `extra`."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in self.secret_env and not _SECRET_ENV.search(name)
        }
        env.update(extra or {})
        return env

    def _exposed_tool_dirs(self, hidden: Sequence[Path]) -> list[Path]:
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

    def _bubblewrap_args(self, bwrap: str, cwd: Path) -> list[str]:
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
        for path in self._exposed_tool_dirs(hidden):
            args += ["--ro-bind", str(path), str(path)]
        workspace, *allowed = self._roots()
        # allowed paths, then protected folders over them, then the workspace (which wins, as
        # in resolve_path), then protected files masked wherever they are
        for root in allowed:
            if root.exists():
                args += ["--bind", str(root), str(root)]
        protected = [_resolve(p) for p in self.protected_paths]
        protected += [Path("/etc/shadow"), Path("/etc/gshadow")]
        for path in protected:
            if path.is_dir():
                args += ["--tmpfs", str(path)]
        args += ["--bind", str(workspace), str(workspace)]
        for path in protected:
            if path.is_file():
                args += ["--ro-bind", "/dev/null", str(path)]
        resolv = Path(os.path.realpath("/etc/resolv.conf"))
        if self.network and resolv.exists() and resolv.is_relative_to("/run"):
            args += ["--ro-bind", str(resolv), str(resolv)]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.network:
            args.append("--unshare-net")
        args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        return [*args, "--chdir", str(cwd), "--"]

    def _prepare(
        self, command: str | Sequence[str], cwd: Path | None
    ) -> tuple[list[str], Path, Isolation]:
        """Check the command and the cwd, choose the isolation, build the argv."""
        if isinstance(command, str):
            self.check_command(command)
            argv = ["/bin/sh", "-c", command]
        else:
            argv = [str(part) for part in command]
            if not argv:
                raise ToolError("empty command")
            self.check_command(shlex.join(argv))
        self._ensure_workspace()
        directory = self.resolve_path(cwd) if cwd is not None else _resolve(self.workspace)
        if not directory.is_dir():
            raise ToolError(f"working directory {directory} does not exist")
        isolation = self.isolation()
        if isolation == "bubblewrap":
            argv = [*self._bubblewrap_args(str(shutil.which("bwrap")), directory), *argv]
        return argv, directory, isolation

    async def spawn(
        self,
        command: str | Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bool = False,
    ) -> asyncio.subprocess.Process:
        """Start a command under the policy and isolation and return at once (for background
        processes): stdout and stderr are pipes, stdin a pipe when `stdin` else /dev/null.

        The process leads its own process group: end it with `kill_process_group(process)`
        then `await process.wait()`. Reading its pipes, and their size, is the caller's job."""
        argv, directory, _ = self._prepare(command, cwd)
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=directory,
            env=self._env(env),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )

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
        argv, directory, isolation = self._prepare(command, cwd)
        seconds = self.clamp_timeout(timeout)
        limit = output_limit or self.output_limit
        loop = asyncio.get_running_loop()
        pipes = [os.pipe(), os.pipe()]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=directory,
                env=self._env(env),
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
                partial(_CappedOutput, limit), os.fdopen(read_end, "rb", buffering=0)
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
                await asyncio.wait_for(process.wait(), seconds)
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

    # -- paths ------------------------------------------------------------------------------

    def _roots(self) -> list[Path]:
        return [_resolve(self.workspace), *(_resolve(p) for p in self.allowed_paths)]

    def resolve_path(self, path: str | Path, *, write: bool = False) -> Path:
        """The absolute, symlink-resolved path (relative paths are relative to the workspace);
        raise SandboxDenied when it falls outside the allowlist.

        `..` and every symlink (of the path and of its parents, chains and dangling links
        included) are resolved before deciding, so a link pointing outside is refused for
        reads and writes alike; a write to a file with several hard links is refused too.
        The config file, the sessions database and `$OPENCLAW_HOME` outside the workspace are
        refused even when an allowed path contains them."""
        self._ensure_workspace()
        given = Path(path).expanduser()
        absolute = given if given.is_absolute() else self.workspace / given
        resolved = _resolve(absolute)
        if write and resolved.is_file() and resolved.stat().st_nlink > 1:
            raise _deny(
                "hard link",
                f"{path} is a hard link ({resolved}); writing it could change a file elsewhere",
            )
        roots = self._roots()
        workspace = roots[0]
        for protected in self.protected_paths:
            target = _resolve(protected)
            inside = _within(resolved, target)
            if resolved == target or (inside and not _within(resolved, workspace)):
                raise _deny("protected path", f"{path} resolves to {resolved}, which holds secrets")
        if any(_within(resolved, root) for root in roots):
            return resolved
        lexical = Path(posixpath.normpath(str(absolute)))
        rule = (
            "symlink escape" if any(_within(lexical, root) for root in roots) else "path allowlist"
        )
        raise _deny(
            rule,
            f"{path} resolves to {resolved}, outside the workspace ({workspace}) and "
            "sandbox.allowed_paths",
        )

    # -- URLs -------------------------------------------------------------------------------

    def _url_host(self, url: str) -> tuple[str, int]:
        """Scheme, credentials and shape checks; returns (host, port)."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise _deny("malformed URL", f"{url}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _deny("URL scheme", f"{url}: only http and https URLs may be fetched")
        if parts.username is not None or parts.password is not None:
            raise _deny("URL credentials", f"{url}: URLs with a user or password are refused")
        if any(char in parts.netloc for char in "\\ \t\r\n") or not parts.hostname:
            raise _deny("malformed URL", f"{url}: no valid host")
        return parts.hostname.rstrip("."), port or (443 if scheme == "https" else 80)

    def _host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(
            host == name or (name.startswith(("*.", ".")) and host.endswith(name.lstrip("*")))
            for name in self._allowed_names
        )

    def _address_problem(self, address: str) -> str | None:
        """Why an address is internal (loopback, private, ...), or None when it may be used."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip.version == net.version and ip in net for net in self._allowed_networks):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
            if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
                embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if embedded is not None:
                return self._address_problem(str(embedded))
        for attribute, label in (
            ("is_loopback", "loopback"),
            ("is_link_local", "link-local"),
            ("is_multicast", "multicast"),
            ("is_unspecified", "unspecified"),
            ("is_private", "private"),
            ("is_reserved", "reserved"),
        ):
            if getattr(ip, attribute):
                return label
        return None if ip.is_global else "non-public"

    def check_address(self, address: str, *, url: str = "", host: str = "") -> None:
        """Raise SandboxDenied when an IP address is internal and not in sandbox.allowed_hosts."""
        problem = self._address_problem(address)
        if problem is not None:
            where = f"{url} → " if url else ""
            named = f"{host} resolves to " if host and host != address else ""
            raise _deny(
                "internal address (SSRF)",
                f"{where}{named}{address}, {'an' if problem[0] in 'aeiou' else 'a'} {problem} "
                "address; add the host or its network to sandbox.allowed_hosts to allow it",
            )

    def _check_resolved(self, url: str, host: str, infos: list[Any]) -> None:
        for info in infos:
            self.check_address(str(info[4][0]), url=url, host=host)

    def check_url(self, url: str) -> None:
        """Raise SandboxDenied for non-http(s) URLs and, unless allowed in the config, for hosts
        that resolve to private, loopback, link-local or otherwise internal addresses (SSRF).

        Every address the host resolves to must be public. This resolves with a blocking
        `getaddrinfo`; async code should prefer `check_url_async`. A check before fetching
        cannot stop DNS rebinding: fetch through `ssrf_guarded_connector` too."""
        host, port = self._url_host(url)
        if self._host_allowed(host):
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ToolError(f"cannot resolve {host}: {exc}") from None
        self._check_resolved(url, host, infos)

    async def check_url_async(self, url: str) -> None:
        """`check_url` without blocking the event loop while resolving."""
        host, port = self._url_host(url)
        if self._host_allowed(host):
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise ToolError(f"cannot resolve {host}: {exc}") from None
        self._check_resolved(url, host, infos)

    def ssrf_guarded_connector(self, **kwargs: Any) -> aiohttp.TCPConnector:
        """An aiohttp connector that checks the address of every connection it opens.

        The check runs on the socket actually connected (after DNS, for every redirect hop
        and for IP literals alike), so DNS rebinding and redirects to internal addresses are
        refused: the request raises SandboxDenied. Hosts named in sandbox.allowed_hosts may
        connect to whatever they resolve to. `kwargs` go to `aiohttp.TCPConnector`."""
        import aiohttp
        from aiohttp.abc import AbstractResolver, ResolveResult
        from aiohttp.resolver import DefaultResolver

        policy = self
        allowed_addresses: set[str] = set()

        class AllowedHostsResolver(AbstractResolver):
            """Remembers the addresses of allowed hostnames so their connections pass."""

            def __init__(self) -> None:
                self.inner = DefaultResolver()

            async def resolve(
                self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
            ) -> list[ResolveResult]:
                results = await self.inner.resolve(host, port, family)
                if policy._host_allowed(host):
                    allowed_addresses.update(result["host"] for result in results)
                return results

            async def close(self) -> None:
                await self.inner.close()

        def guarded_socket(addr_info: Any) -> socket.socket:
            family, kind, proto, _, address = addr_info
            if address[0] not in allowed_addresses:
                policy.check_address(address[0])
            return socket.socket(family, kind, proto)

        return aiohttp.TCPConnector(
            resolver=AllowedHostsResolver(), socket_factory=guarded_socket, **kwargs
        )


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True
