"""Model markdown → Discord markdown.

Discord renders most of what models write (`**bold**`, `*italic*`, `~~strike~~`, code spans and
blocks, `#`-`###` headings, lists, quotes, `[links](url)`) and never refuses a message for its
markup, so only the differences are rewritten, outside code: `__strong__` is bold in CommonMark
but underline on Discord, so it becomes `**strong**`; `####`-`######` headings, which Discord
shows as plain `#` characters, become bold lines; an underscore inside a word (`smol_lm_2`) is
escaped, because Discord would otherwise end an `_italic_` run there (the stats footer
`_… · local/smol_lm_2_` is one). A code block still open while a reply streams runs to the end.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
_STRONG = re.compile(r"(?<![\w\\])__(?=\S)(.+?)(?<=\S)__(?!\w)")
_DEEP_HEADING = re.compile(r"^#{4,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_INTRAWORD_UNDERSCORE = re.compile(r"(?<=[^\W_])_(?=[^\W_])")


def to_discord(text: str) -> str:
    """Rewrite a model's markdown where Discord reads it differently; code is left as is."""
    out: list[str] = []
    position = 0
    for code in _CODE.finditer(text):
        out.append(_prose(text[position : code.start()]))
        out.append(code.group(0))
        position = code.end()
    out.append(_prose(text[position:]))
    return "".join(out)


def _prose(text: str) -> str:
    text = _DEEP_HEADING.sub(r"**\1**", text)
    text = _STRONG.sub(r"**\1**", text)
    return _INTRAWORD_UNDERSCORE.sub(r"\\_", text)
