"""Highlighted snippets: a window of a document's text, HTML-escaped, matches in <mark>.

Pure, and the same for every backend (an engine's own snippets would show Chinese as the
bigrams it indexed). A word of the text is marked when its folded, lower-cased form is a
query word, starts with a prefix query word, or shares the query word's stem as far as a
simple cut of common endings can tell (the engines stem; this only decides what to mark).
A CJK query run is marked wherever the text holds it.
"""

from __future__ import annotations

import html
import re

from .query import Query
from .text import CJK_RUN, WORD, fold

WINDOW = 200  # characters of text around the first match
ENDINGS = 4  # characters a word may differ by at its end and still be marked (stemming)


def _key(word: str) -> str:
    return word if len(word) <= 4 else word[:max(4, len(word) - ENDINGS)]


def spans(text: str, query: Query) -> list[tuple[int, int]]:
    """Where `text` holds what `query` asks for: sorted, non-overlapping (start, end)."""
    folded = fold(text)
    if len(folded) != len(text):  # folding removed characters: mark on the folded text's
        text = folded             # positions would shift; mark the folded text instead
    lower = text.lower()
    found: list[tuple[int, int]] = []
    plain: list[tuple[str, bool]] = []
    runs: list[tuple[str, bool]] = []
    for word, prefix in query.terms():
        (runs if CJK_RUN.fullmatch(word) else plain).append((word.lower(), prefix))
    for run, _ in runs:
        found += [(m.start(), m.end()) for m in re.finditer(re.escape(run), lower)]
    if plain:
        for match in WORD.finditer(lower):
            word = match.group()
            for term, prefix in plain:
                if word == term or word.startswith(term if prefix else _key(term)):
                    found.append((match.start(), match.end()))
                    break
    found.sort()
    out: list[tuple[int, int]] = []
    for start, end in found:
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def snippet(text: str, query: Query, window: int = WINDOW) -> str:
    """HTML: up to `window` characters of `text` around its first match, escaped, each
    match in <mark>; an ellipsis where text was cut."""
    shown = fold(text) if len(fold(text)) != len(text) else text
    marks = spans(shown, query)
    start = 0
    if marks and len(shown) > window:
        start = max(0, min(marks[0][0] - window // 4, len(shown) - window))
        while start > 0 and not shown[start - 1].isspace() and marks[0][0] - start < window // 2:
            start -= 1  # begin at a word
    end = min(len(shown), start + window)
    parts = ["…" if start > 0 else ""]
    cursor = start
    for begin, finish in marks:
        if finish <= start or begin >= end:
            continue
        begin, finish = max(begin, start), min(finish, end)
        parts.append(html.escape(shown[cursor:begin]))
        parts.append(f"<mark>{html.escape(shown[begin:finish])}</mark>")
        cursor = finish
    parts.append(html.escape(shown[cursor:end]))
    parts.append("…" if end < len(shown) else "")
    return "".join(parts)
