"""Model markdown → Telegram MarkdownV2.

Models write CommonMark-ish markdown; Telegram's MarkdownV2 rejects any unescaped reserved
character, so everything that is not a recognised entity is escaped. Recognised: fenced code
blocks, inline code, `**bold**`, `*italic*` / `_italic_`, `~~strike~~`, `[links](url)` and
`# headings` (shown bold). Underscores inside words (`local/smol_lm_2`) are literal, as in
CommonMark, so a footer `_… · local/smol_lm_2_` stays one italic entity. Unclosed markers (a
reply still streaming) are shown literally; an unclosed code fence runs to the end.
"""

from __future__ import annotations

import functools
import re

RESERVED = "_*[]()~`>#+-=|{}.!\\"
_ESCAPES = str.maketrans({char: "\\" + char for char in RESERVED})
_MAYBE_ENTITY = re.compile(r"[`*_~\[]")
"""Where an entity can start; the text between two of these is escaped in one go."""
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^```([^\n`]*)\n?(.*?)(?:^```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)


def escape(text: str) -> str:
    """Plain text made safe for MarkdownV2."""
    return text.translate(_ESCAPES)


def _escape_code(text: str) -> str:
    """Inside code and pre entities only the backslash and the backtick are special."""
    return text.replace("\\", "\\\\").replace("`", "\\`")


@functools.lru_cache(maxsize=64)
def to_markdown_v2(text: str) -> str:
    """Convert a model's markdown to MarkdownV2 that Telegram accepts. Cached: a streamed
    reply's text is measured against the length limit and then sent, both in MarkdownV2."""
    out: list[str] = []
    position = 0
    for fence in _FENCE.finditer(text):
        out.append(_blocks(text[position : fence.start()]))
        language = fence.group(1).strip()
        code = fence.group(2).rstrip("\n")
        header = language if language and " " not in language else ""
        out.append(f"```{header}\n{_escape_code(code)}\n```")
        position = fence.end()
    out.append(_blocks(text[position:]))
    return "".join(out)


def _blocks(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        lines.append(f"*{_inline(heading.group(1))}*" if heading else _inline(line))
    return "\n".join(lines)


def _inline(text: str) -> str:
    out: list[str] = []
    i = 0
    while (found := _MAYBE_ENTITY.search(text, i)) is not None:
        start = found.start()
        out.append(escape(text[i:start]))
        converted = _entity_at(text, start)
        if converted is None:
            out.append(escape(text[start]))
            i = start + 1
        else:
            markup, i = converted
            out.append(markup)
    out.append(escape(text[i:]))
    return "".join(out)


def _entity_at(text: str, i: int) -> tuple[str, int] | None:
    """The MarkdownV2 for an entity starting at `i` and the index after it, or None."""
    if text[i] == "`":
        end = text.find("`", i + 1)
        if end > i + 1:
            return f"`{_escape_code(text[i + 1 : end])}`", end + 1
        return None
    for marker, telegram in (("**", "*"), ("__", "*"), ("~~", "~")):
        if text.startswith(marker, i):
            close = _closing(text, i + len(marker), marker)
            if close is None:
                return None
            return f"{telegram}{_inline(text[i + 2 : close])}{telegram}", close + 2
    if text[i] in "*_" and _opens(text, i):
        close = _closing(text, i + 1, text[i])
        if close is not None:
            return f"_{_inline(text[i + 1 : close])}_", close + 1
        return None
    if text[i] == "[":
        link = re.match(r"\[([^\]\n]+)\]\(([^)\s]+)\)", text[i:])
        if link:
            url = link.group(2).replace("\\", "\\\\").replace(")", "\\)")
            return f"[{_inline(link.group(1))}]({url})", i + link.end()
    return None


def _opens(text: str, i: int) -> bool:
    """A `*`/`_` opens emphasis when followed by non-space; `_` also not inside a word."""
    after = text[i + 1 : i + 2]
    if not after or after.isspace() or after == text[i]:
        return False
    return not (text[i] == "_" and i > 0 and text[i - 1].isalnum())


def _closing(text: str, start: int, marker: str) -> int | None:
    """Index of the marker closing an entity whose content starts at `start`."""
    position = start
    while True:
        end = text.find(marker, position)
        if end < 0 or text[start:end].count("\n"):
            return None
        if end > start and not text[end - 1].isspace():
            after = text[end + len(marker) : end + len(marker) + 1]
            intraword = marker == "_" and after.isalnum()
            doubled = len(marker) == 1 and after == marker
            if not intraword and not doubled:
                return end
        position = end + len(marker)
