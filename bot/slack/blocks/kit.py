"""The public Block Kit helpers every renderer uses, and Slack's limits, in one place:
at most 50 blocks per message (100 in the App Home), section and context text <= 3000
characters, header <= 150. Rows that do not fit become one "…and N more" line instead of
an error. User-provided text (Jira summaries, names, typed arguments) is escaped with
`escape` (& < > as Slack's mrkdwn requires) before it is put into mrkdwn.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject

MAX_MESSAGE_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_SUMMARY = 200
MAX_FALLBACK = 1000

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
_LINK = re.compile(r"<([^|>]*)\|([^>]*)>")

# -- limits, in one place ----------------------------------------------------------------------


def escape(text: str | None) -> str:
    """Escape &, < and > so user text cannot form mrkdwn links, mentions or entities."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never through an escaped entity."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_TEXT)))


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, MAX_HEADER), emoji=True))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, MAX_TEXT))])


def fit(
    head: Sequence[Block],
    rows: Sequence[Block],
    tail: Sequence[Block] = (),
    *,
    hint: str,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
) -> list[Block]:
    """head + as many rows as fit + tail; the rows left out become one "…and N more" line."""
    room = max_blocks - len(head) - len(tail)
    if len(rows) <= room:
        return [*head, *rows, *tail]
    keep = max(room - 1, 0)
    more = context(f"…and {len(rows) - keep} more ({hint})")
    return [*head, *rows[:keep], more, *tail]


def pack_lines(lines: Iterable[str], limit: int = MAX_TEXT) -> list[SectionBlock]:
    """Join lines into as few sections as possible, each within the text limit."""
    sections: list[SectionBlock] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            sections.append(section(current))
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        sections.append(section(current))
    return sections


def to_dicts(blocks: Sequence[Block]) -> list[dict]:
    """JSON-ready blocks (slack_sdk validates each one here)."""
    return [b.to_dict() for b in blocks]


def _as_mrkdwn(element) -> str:
    """A text object's text as `text` shows it: plain text (headers) is escaped, since Slack
    reads `<!channel>` or `<@U…>` in a message's `text` even where the block showed it as is."""
    return escape(element.text) if isinstance(element, PlainTextObject) else element.text


def fallback_text(blocks: Sequence[Block], limit: int = MAX_FALLBACK) -> str:
    """Plain notification text for a message: its header and first lines, links as labels."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, (HeaderBlock, SectionBlock)) and block.text is not None:
            parts.append(_as_mrkdwn(block.text))
        elif isinstance(block, ContextBlock):
            parts.extend(_as_mrkdwn(e) for e in block.elements if hasattr(e, "text"))
        if len(parts) >= 3:
            break
    text = _LINK.sub(r"\2", " — ".join(p.replace("\n", " ") for p in parts))
    return clip(text.replace("*", ""), limit) or "Research Bridge"


def link(url: str | None, label: str) -> str:
    """`label` (escaped) as a link to `url`, or as plain text without one."""
    if not url:
        return escape(label)
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{escape(label)}>"


def key_link(key: str, url: str | None) -> str:
    """A Jira key in bold, linked to its issue when the URL is known."""
    return f"*{link(url, key)}*"
