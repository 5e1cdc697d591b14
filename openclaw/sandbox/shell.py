"""Command analysis, part one: a small shell lexer that never fails (an unterminated quote runs
to the end), so that quoting, wrappers, separators and substitutions cannot hide a simple command.

`shlex` is not used for this: it cannot see `$(...)` inside double quotes nor operators.
`Lexer(text).run()` gives words (quotes removed), operators and redirections; `pipelines` groups
them into simple commands as written. Unwrapping them is `openclaw.sandbox.scan`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")", "\n")
_REDIRECTS = ("&>>", "&>", ">>", ">|", ">&", "<<<", "<<-", "<<", "<>", "<&", ">", "<")
OUTPUT_REDIRECTS = frozenset({"&>>", "&>", ">>", ">|", ">&", "<>", ">"})
_ANSI_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b"}
_ANSI_ESCAPES |= {"f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


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


class Lexer:
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
class Stage:
    """One simple command as written: its words, redirections and substitutions."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)


def pipelines(tokens: list[_Token]) -> list[list[Stage]]:
    """Group simple commands into pipelines; `;`, `&&`, `||`, `&` and newlines end one."""
    grouped: list[list[Stage]] = []
    stages: list[Stage] = []
    current = Stage()
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
        current = Stage()
        if token.text not in ("|", "|&", "(", ")") and stages:
            grouped.append(stages)
            stages = []
    if current.words or current.redirects:
        stages.append(current)
    if stages:
        grouped.append(stages)
    return grouped


def split_words(text: str) -> list[str]:
    return [token.text for token in Lexer(text).run() if token.kind == "word"]
