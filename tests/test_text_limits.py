"""One 75/25 head/tail rule for tool results (characters) and command output (bytes)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from openclaw import text_limits, tools
from openclaw.sandbox.processes import run_process


def test_tools_truncate_is_the_shared_rule() -> None:
    assert tools.truncate is text_limits.truncate


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 7, 100, 1001])
def test_head_and_tail_add_up_to_the_limit(limit: int) -> None:
    head, tail = text_limits.head_tail(limit)
    assert head + tail == limit
    assert head == limit * 3 // 4


def test_a_text_that_fits_is_kept() -> None:
    assert text_limits.truncate("abc", 3) == "abc"


def test_a_long_text_keeps_its_head_and_tail() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    cut = text_limits.truncate(text, 100)
    assert cut.startswith(text[:75])
    assert cut.endswith(text[-25:])
    assert "[... 900 characters truncated ...]" in cut


@pytest.mark.parametrize("limit", [0, 1])
def test_a_tiny_limit_never_keeps_the_whole_text(limit: int) -> None:
    # text[-0:] is the whole text: a zero-length tail must keep nothing
    cut = text_limits.truncate("x" * 50, limit)
    assert cut.count("x") == limit


def test_command_output_is_cut_by_the_same_rule(tmp_path: Path) -> None:
    script = "import sys; sys.stdout.write(''.join(chr(97 + i % 26) for i in range(1000)))"
    result = asyncio.run(
        run_process(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            stdin=None,
            timeout=30,
            output_limit=100,
            isolation="none",
        )
    )
    text = "".join(chr(97 + i % 26) for i in range(1000))
    assert result.truncated
    head, tail = text_limits.head_tail(100)
    assert result.stdout == f"{text[:head]}{text_limits.marker(900, 'bytes')}{text[-tail:]}"
