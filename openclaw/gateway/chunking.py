"""Cutting a reply into messages the platform accepts: at a paragraph, line or word boundary
when possible, never inside an indicator placeholder, an inline code span or a bold run, and a
code block cut in two closed and reopened. `fits` measures a piece as the platform will see it
(after its markdown escaping)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

FENCE = "```"
LINE_OPEN, LINE_CLOSE = "\ue000", "\ue001"  # private-use characters around a placeholder
PLACEHOLDER = re.compile(f"{LINE_OPEN}(\\d+){LINE_CLOSE}")
NO_PLACEHOLDERS = str.maketrans("", "", LINE_OPEN + LINE_CLOSE)  # a model cannot fake one


def split_message(text: str, limit: int) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at a paragraph, line or word
    boundary when possible; a code block cut in two is closed and reopened."""
    return split(text, lambda chunk: len(chunk) <= limit)


def split(text: str, fits: Callable[[str], bool]) -> list[str]:
    """`split_message` with any measure, e.g. the length after the platform's escaping."""
    chunks: list[str] = []
    in_fence = False
    while text.strip():
        whole = fenced(text.strip(), in_fence)
        if fits(whole):
            chunks.append(whole)
            break
        head, rest = cut(text, partial(_fits_fenced, fits, in_fence))
        if text[:head].strip():
            chunks.append(fenced(text[:head].strip(), in_fence))
        in_fence = _ends_in_fence(text[:head], in_fence)
        text = text[rest:]
    return chunks


def _fits_fenced(fits: Callable[[str], bool], opened: bool, text: str) -> bool:
    return fits(fenced(text.strip(), opened))


def fenced(text: str, opened: bool) -> str:
    """Reopen a code block the previous piece left open, and close one this piece leaves open."""
    if opened:
        text = f"{FENCE}\n{text}"
    if text.count(FENCE) % 2:
        text = f"{text}\n{FENCE}"
    return text


def _ends_in_fence(text: str, opened: bool) -> bool:
    return (text.count(FENCE) + opened) % 2 == 1


def cut(text: str, fits: Callable[[str], bool]) -> tuple[int, int]:
    """Where to end the first piece of `text` (which does not fit) and where the rest starts:
    the longest prefix that fits, pulled back to a paragraph, line or word boundary when that
    keeps at least half of it, and never inside a placeholder or (at a word boundary) an
    inline code span or bold run."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    hard = _outside_placeholder(text, low)
    floor = hard // 2
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, hard)
        while at > floor:
            head = text[:at]
            if (separator != " " or _clean(head)) and fits(head):
                return at, at + len(separator)
            at = text.rfind(separator, 0, at)
    return hard, hard


def _outside_placeholder(text: str, index: int) -> int:
    start = text.rfind(LINE_OPEN, 0, index)
    if start < 0 or text.find(LINE_CLOSE, start) < index:
        return index
    return start or text.find(LINE_CLOSE, start) + 1


def _clean(head: str) -> bool:
    """False when the last line of `head` leaves an inline code span or bold run open."""
    line = head.rsplit("\n", 1)[-1]
    return line.count("`") % 2 == 0 and line.count("**") % 2 == 0
