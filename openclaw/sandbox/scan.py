"""Command analysis, part two: every simple command a command line may run, as the blocklist
rules see it (`Cmd`).

`Scan` follows what the lexer (`openclaw.sandbox.shell`) cannot see on its own: wrappers
(`sudo`, `env`, `timeout`, `xargs`...) are unwrapped, `sh -c`, `eval`, `su -c`, `watch`,
`find -exec`, substitutions and inline interpreter code (`python -c`) are scanned in turn, and
variables assigned earlier in the same line are expanded. Nesting deeper than the analysis follows
raises `TooDeep`, refused rather than guessed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openclaw.sandbox.shell import OUTPUT_REDIRECTS, Lexer, pipelines, split_words

_MAX_DEPTH = 12
MAX_COMMAND = 200_000  # characters; the analysis is linear, this bounds its time
_DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "nc", "ncat", "netcat", "socat"})


def normal_path(word: str) -> str:
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
class Cmd:
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
            if op in OUTPUT_REDIRECTS and not target.isdigit() and target != "-"
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
        return [normal_path(target) for target in targets]

    def display(self) -> str:
        parts = [*self.assignments, self.prog, *self.args]
        parts += [f"{op} {target}" for op, target in self.redirects]
        shown = " ".join(part for part in parts if part)
        return shown if len(shown) <= 300 else shown[:300] + " ..."


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_RESERVED = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "do", "while", "until", "fi", "done", "esac"}
)
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
_CODE_FLAGS = {"python": ("-c",), "perl": ("-e", "-E"), "ruby": ("-e",), "node": ("-e", "-p")}
_CODE_FLAGS |= {"nodejs": ("-e", "-p"), "php": ("-r",), "lua": ("-e",)}
DECLARE = frozenset({"export", "declare", "typeset", "local", "readonly"})
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


def code_language(prog: str) -> str | None:
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


def find_roots(args: Sequence[str]) -> list[str]:
    roots = []
    for arg in args:
        if arg.startswith(("-", "(", "!")):
            break
        roots.append(arg)
    return roots or ["."]


def _find_commands(args: Sequence[str]) -> list[list[str]]:
    """`find ROOT -exec CMD {} ;` as argv lists, `{}` replaced by each root."""
    commands = []
    roots = find_roots(args)
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
            return split_words(args[i + 1]) + list(args[i + 2 :])
        elif arg.startswith("-S") or arg.startswith("--split-string="):
            return split_words(arg.split("=", 1)[1] if arg.startswith("--") else arg[2:]) + list(
                args[i + 1 :]
            )
        elif arg.startswith("-") or _ASSIGNMENT.match(arg):
            i += 1
        else:
            break
    return list(args[i:])


class TooDeep(Exception):
    """Nesting beyond what the analysis follows: refused rather than guessed."""


class Scan:
    """Every simple command a command line may run, wrappers unwrapped, nesting followed."""

    def __init__(self) -> None:
        self.commands: list[Cmd] = []
        self.texts: list[str] = []
        self.variables: dict[str, str] = {"IFS": " "}

    def text(self, text: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise TooDeep
        self.texts.append(text)
        for pipeline in pipelines(Lexer(text).run()):
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
    ) -> list[Cmd]:
        """Record `argv` and each command it wraps (`sudo env X=1 rm` gives three levels)."""
        levels: list[Cmd] = []
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
                raise TooDeep
            cmd = Cmd(
                head.rsplit("/", 1)[-1] or head, argv[1:], redirects, assignments, after_download
            )
            levels.append(cmd)
            self.commands.append(cmd)
            argv = self.unwrap(cmd, echoed, depth)
        if not levels and (assignments or redirects):
            cmd = Cmd("", [], redirects, assignments, after_download)
            levels.append(cmd)
            self.commands.append(cmd)
        return levels

    def unwrap(self, cmd: Cmd, echoed: list[str], depth: int) -> list[str]:
        """The argv `cmd` runs in turn (empty when none); scripts it runs are scanned."""
        prog, args = cmd.prog, cmd.args
        if prog in SHELLS:
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
        elif prog in DECLARE:
            self.expand([arg for arg in args if _ASSIGNMENT.match(arg)])
        elif prog in _WRAPPERS:
            with_value, positional = _WRAPPERS[prog]
            rest = _skip_options(args, with_value)[positional:]
            return rest + echoed if prog == "xargs" and rest else rest
        elif (language := code_language(prog)) is not None:
            for code in _inline_code(language, args):
                self.texts.append(code)
                literals = ["".join(groups) for groups in _LITERAL.findall(code)]
                for literal in [*literals, " ".join(literals)]:
                    self.text(literal, depth + 1)
        return []
