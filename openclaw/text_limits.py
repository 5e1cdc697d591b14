"""The one rule for cutting long output: keep the first 75% and the last 25% of the limit, with
a marker saying how much was dropped between. Tool results (characters) and command output
captured by the sandbox (bytes) both use it, so a model sees long output cut the same way.

Bottom layer: stdlib only, so the sandbox and the tools can both import it.
"""

from __future__ import annotations


def head_tail(limit: int) -> tuple[int, int]:
    """How many units to keep from the start and from the end for `limit` in all."""
    limit = max(limit, 0)
    head = limit * 3 // 4
    return head, limit - head


def marker(dropped: int, unit: str = "characters") -> str:
    """What stands between the head and the tail of a cut text."""
    return f"\n\n[... {dropped} {unit} truncated ...]\n\n"


def truncate(text: str, limit: int) -> str:
    """`text` itself when it fits in `limit` characters, else its head and tail around a marker."""
    if len(text) <= limit:
        return text
    head, tail = head_tail(limit)
    dropped = len(text) - head - tail
    return f"{text[:head]}{marker(dropped)}{text[len(text) - tail :]}"
