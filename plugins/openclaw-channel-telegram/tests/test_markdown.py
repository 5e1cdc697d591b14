"""Model markdown → MarkdownV2, checked against the fake's Telegram-like parser."""

from __future__ import annotations

import pytest
from openclaw_channel_telegram.markdown import escape, to_markdown_v2
from openclaw_channel_telegram.testing import MarkdownV2Error, parse_markdown_v2

CASES = [
    # (model markdown, MarkdownV2 sent, what the user reads)
    ("1+1=2. Done!", "1\\+1\\=2\\. Done\\!", "1+1=2. Done!"),
    ("**bold** and *it* and _it_", "*bold* and _it_ and _it_", "bold and it and it"),
    (
        "_2094ms · 1 round(s) · 721 tokens · moonshot/kimi-k2.5_",
        "_2094ms · 1 round\\(s\\) · 721 tokens · moonshot/kimi\\-k2\\.5_",
        "2094ms · 1 round(s) · 721 tokens · moonshot/kimi-k2.5",
    ),
    (
        "_1ms · 0 tool(s) · local/smol_lm_2_",
        "_1ms · 0 tool\\(s\\) · local/smol\\_lm\\_2_",
        "1ms · 0 tool(s) · local/smol_lm_2",
    ),
    ("snake_case_name", "snake\\_case\\_name", "snake_case_name"),
    ("`a_b*c` ok", "`a_b*c` ok", "a_b*c ok"),
    ("```py\nx = `1`\n```", "```py\nx = \\`1\\`\n```", "x = `1`\n"),
    ("# Title", "*Title*", "Title"),
    ("~~old~~ [site](https://a.b/c)", "~old~ [site](https://a.b/c)", "old site"),
    ("unclosed **bold", "unclosed \\*\\*bold", "unclosed **bold"),
    ("```\nstreaming code", "```\nstreaming code\n```", "streaming code\n"),
    ("- a > b | {c} #d", "\\- a \\> b \\| \\{c\\} \\#d", "- a > b | {c} #d"),
]


@pytest.mark.parametrize(("source", "expected", "seen"), CASES)
def test_conversion(source, expected, seen):
    converted = to_markdown_v2(source)
    assert converted == expected
    assert parse_markdown_v2(converted) == seen


def test_escape_escapes_every_reserved_character():
    special = "_*[]()~`>#+-=|{}.!\\"
    assert parse_markdown_v2(escape(special)) == special


@pytest.mark.parametrize("bad", ["1.5", "*open", "a_b", "x]", "`code"])
def test_fake_rejects_what_telegram_rejects(bad):
    with pytest.raises(MarkdownV2Error, match="can't parse entities"):
        parse_markdown_v2(bad)
