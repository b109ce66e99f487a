"""Free text from CRM exports: note bodies written as HTML become plain text."""

from __future__ import annotations

import html.parser
import re

import pandas as pd

from .. import schema

__all__ = ["html_to_text"]

_BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote"}


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _one_html_to_text(value: str) -> str:
    if "<" not in value and "&" not in value:
        return value.strip()
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(values: pd.Series) -> pd.Series:
    """Note bodies as plain text: tags removed (block tags become line breaks), entities unescaped.

    Script and style content is dropped. Parsing runs once per distinct value.
    Empty results are missing values.
    """
    s = values.astype(schema.STRING)
    uniques = s.dropna().unique()
    table = {u: _one_html_to_text(u) for u in uniques}
    out = s.map(table).astype(schema.STRING)
    return out.where(out.str.len() > 0)
