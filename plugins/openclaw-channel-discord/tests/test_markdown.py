"""Model markdown as Discord shows it."""

from __future__ import annotations

from openclaw_channel_discord.markdown import to_discord


def test_what_discord_renders_like_commonmark_is_kept():
    text = "**bold**, *italic*, _italic_, ~~gone~~, `x_y`, [a link](https://e.org/a_b)\n# Title"
    assert to_discord(text).replace("\\_", "_") == text


def test_underscores_inside_words_are_escaped_so_italics_hold():
    footer = "_12ms · 1 round(s) · 0 tool(s) · 9 tokens · local/smol_lm_2_"
    assert to_discord(footer) == "_12ms · 1 round(s) · 0 tool(s) · 9 tokens · local/smol\\_lm\\_2_"
    assert to_discord("call my_function now") == "call my\\_function now"


def test_commonmark_strong_underscores_become_bold_not_underline():
    assert to_discord("this is __important__ here") == "this is **important** here"


def test_deep_headings_become_bold_lines():
    assert to_discord("#### Details\ntext\n### kept") == "**Details**\ntext\n### kept"


def test_code_is_left_exactly_as_written():
    text = "see `snake_case` and\n```py\nmy_var = __dunder__\n#### not a heading\n```\nafter_that"
    assert to_discord(text) == (
        "see `snake_case` and\n```py\nmy_var = __dunder__\n#### not a heading\n```\nafter\\_that"
    )


def test_a_code_block_still_streaming_runs_to_the_end():
    assert to_discord("intro\n```\nstill_open = 1") == "intro\n```\nstill_open = 1"
