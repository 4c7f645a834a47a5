"""Caption lines and caption languages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaptionLine:
    """One caption line as accepted: `ts` is server time in ms since the Unix epoch."""

    ts: int
    text: str
    lang: str
    final: bool = True
    seq: int | None = None
    item: str | None = None
    speaker: str | None = None


def match_language(tag: str, languages: Sequence[str]) -> str | None:
    """The session language a BCP 47 `tag` names: exact (case-insensitive) or by base language.

    `en-US` matches a session language `en`; `en` matches `en-GB` when that is the only English.
    Returns None when nothing matches.
    """
    wanted = tag.strip().lower().replace("_", "-")
    if not wanted:
        return None
    for lang in languages:
        if lang.lower() == wanted:
            return lang
    base = wanted.split("-", 1)[0]
    for lang in languages:
        if lang.lower() == base:
            return lang
    for lang in languages:
        if lang.lower().split("-", 1)[0] == base:
            return lang
    return None
